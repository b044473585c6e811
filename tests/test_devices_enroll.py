"""POST /api/v1/enroll: an enrollment token becomes a device, once."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from audit.signing import public_key_b64
from devices import services
from devices.models import Device, EnrollmentToken
from ony.ids import device_id
from tests.base import OnyTestCase


class EnrollTests(OnyTestCase):
    def setUp(self):
        cache.clear()  # rate-limit counters
        self.record, self.token = services.create_enrollment_token(
            self.acme, created_by=self.alice_m
        )

    def enroll(self, body=None, **extra):
        body = {"token": self.token, "name": "alice's laptop"} if body is None else body
        return Client().post("/api/v1/enroll", body, content_type="application/json", **extra)

    def test_it_turns_a_token_into_a_device(self):
        r = self.enroll()
        self.assertEqual(r.status_code, 201)
        body = r.json()
        self.assertRegex(body["device_id"], r"^dev_[0-9a-f]{12}$")
        self.assertTrue(body["device_token"].startswith("ony_dev_"))
        key = base64.urlsafe_b64decode(body["decision_key"] + "=")
        self.assertEqual(len(key), 32)
        self.assertNotIn("=", body["decision_key"])
        self.assertEqual((body["org"], body["org_slug"]), (self.acme.public_id, "acme"))
        self.assertEqual(body["audit_public_key"], public_key_b64())

        device = Device.objects.for_org(self.acme).get(public_id=body["device_id"])
        self.assertEqual((device.name, device.owner), ("alice's laptop", self.alice_m))
        self.assertEqual(
            device.token_hash, hashlib.sha256(body["device_token"].encode()).hexdigest()
        )
        self.assertEqual(device.decision_key_bytes, key)
        self.record.refresh_from_db()
        self.assertIsNotNone(self.record.used_at)
        self.assertEqual(self.record.device, device)
        entry = AuditEntry.objects.for_org(self.acme).order_by("-seq").first()
        self.assertEqual(
            (entry.event, entry.actor, entry.subject, entry.data),
            (
                "device.enrolled",
                self.alice_m.public_id,
                device.public_id,
                {"name": "alice's laptop"},
            ),
        )

    def test_it_never_stores_the_key_or_token_in_clear_text(self):
        body = self.enroll().json()
        with connection.cursor() as cursor:
            cursor.execute("SELECT token_hash, decision_key FROM devices_device")
            token_hash, stored_key = cursor.fetchone()
        self.assertNotIn(body["decision_key"], stored_key)
        self.assertNotIn(body["device_token"], token_hash)
        with connection.cursor() as cursor:
            cursor.execute("SELECT token_hash FROM devices_enrollmenttoken")
            self.assertNotIn(self.token, cursor.fetchone()[0])

    def test_it_refuses_a_used_token(self):
        self.assertEqual(self.enroll().status_code, 201)
        r = self.enroll()
        self.assertEqual((r.status_code, r.json()["code"]), (400, "enrollment_token_used"))
        self.assertEqual(Device.objects.count(), 1)

    def test_it_refuses_an_expired_token_and_leaves_nothing_behind(self):
        EnrollmentToken.objects.filter(pk=self.record.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        before = AuditEntry.objects.count()
        r = self.enroll()
        self.assertEqual((r.status_code, r.json()["code"]), (400, "enrollment_token_expired"))
        self.assertEqual(Device.objects.count(), 0)
        self.assertEqual(AuditEntry.objects.count(), before)
        self.record.refresh_from_db()
        self.assertIsNone(self.record.used_at)

    def test_it_refuses_an_unknown_token(self):
        r = self.enroll({"token": "ony_enr_" + "x" * 43, "name": "laptop"})
        self.assertEqual((r.status_code, r.json()["code"]), (400, "enrollment_token_invalid"))

    def test_it_enrolls_into_the_tokens_org_only(self):
        _, globex_token = services.create_enrollment_token(self.globex)
        body = self.enroll({"token": globex_token, "name": "build box"}).json()
        device = Device.objects.get(public_id=body["device_id"])
        self.assertEqual(device.org, self.globex)
        self.assertEqual(Device.objects.for_org(self.acme).count(), 0)

    def test_it_answers_bad_input_with_a_json_code(self):
        cases = [
            ({}, 400, "invalid"),
            ({"token": 5, "name": []}, 400, "invalid"),
            ({"token": self.token, "name": "call +1 415 555 0101"}, 400, "invalid_name"),
            ({"token": self.token, "name": "me@example.com"}, 400, "invalid_name"),
            ({"token": self.token, "name": "call (415) 555-0101"}, 400, "invalid_name"),
            ({"token": self.token, "name": "x" * 101}, 400, "invalid"),
            ({"token": "t" * 201, "name": "laptop"}, 400, "invalid"),
        ]
        for body, status, code in cases:
            with self.subTest(body=str(body)[:50]):
                r = self.enroll(body)
                self.assertEqual((r.status_code, r.json()["code"]), (status, code))
        r = Client().post("/api/v1/enroll", "{not json", content_type="application/json")
        self.assertEqual((r.status_code, r.json()["code"]), (400, "parse_error"))
        r = Client().post("/api/v1/enroll", {"token": self.token, "name": "laptop"})
        self.assertEqual((r.status_code, r.json()["code"]), (415, "unsupported_media_type"))
        self.assertEqual(Device.objects.count(), 0)
        self.record.refresh_from_db()
        self.assertIsNone(self.record.used_at)

    def test_it_rate_limits_per_client_address(self):
        bad = {"token": "nope", "name": "laptop"}
        # The limit is 10 a minute per address; a varied X-Forwarded-For is no way around it.
        statuses = [
            self.enroll(bad, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(11)
        ]
        self.assertEqual(statuses, [400] * 10 + [429])
        r = self.enroll()
        self.assertEqual((r.status_code, r.json()["code"]), (429, "throttled"))
        self.assertEqual(Device.objects.count(), 0)
        self.assertEqual(self.enroll(REMOTE_ADDR="192.0.2.7").status_code, 201)


def test_device_ids_look_like_the_design_says():

    assert re.fullmatch(r"dev_[0-9a-f]{12}", device_id())
