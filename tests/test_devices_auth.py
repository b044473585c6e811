"""Device bearer tokens: who may call, what a revoked or frozen device gets, what it sees."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit import services as audit
from audit.events import SYSTEM
from devices import services
from devices.models import Device
from ony.canonical import canonical
from ony.connector.verdict import Expected, format_verdict_time, is_approval
from tests.base import OnyTestCase, bearer, enroll_device


class DeviceAuthTests(OnyTestCase):
    def setUp(self):
        self.laptop = enroll_device(self.acme, "laptop", self.alice_m)
        self.build_box = enroll_device(self.globex, "build box")

    def get(self, path, token=None, **extra):
        headers = bearer(token) if token else {}
        return Client().get(path, **headers, **extra)

    def test_it_knows_the_calling_device(self):
        r = self.get("/api/v1/device", self.laptop.device_token)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(
            r.json(),
            {
                "device_id": self.laptop.device.public_id,
                "name": "laptop",
                "org": self.acme.public_id,
                "org_slug": "acme",
                "status": "active",
            },
        )

    def test_it_records_last_seen_at_most_once_a_minute(self):
        self.get("/api/v1/device", self.laptop.device_token)
        first = Device.objects.get(pk=self.laptop.device.pk).last_seen_at
        self.assertIsNotNone(first)
        with CaptureQueriesContext(connection) as queries:
            self.get("/api/v1/device", self.laptop.device_token)
        self.assertFalse([q for q in queries if q["sql"].startswith("UPDATE")])
        self.assertEqual(Device.objects.get(pk=self.laptop.device.pk).last_seen_at, first)
        Device.objects.filter(pk=self.laptop.device.pk).update(
            last_seen_at=first - timedelta(minutes=2)
        )
        self.get("/api/v1/device", self.laptop.device_token)
        self.assertGreater(Device.objects.get(pk=self.laptop.device.pk).last_seen_at, first)

    def test_it_refuses_missing_and_wrong_tokens(self):
        cases = [
            ({}, 401, "not_authenticated"),
            (bearer("ony_dev_wrong"), 401, "invalid_device_token"),
            ({"HTTP_AUTHORIZATION": "Bearer"}, 401, "invalid_device_token"),
            ({"HTTP_AUTHORIZATION": "Bearer two parts"}, 401, "invalid_device_token"),
            ({"HTTP_AUTHORIZATION": "Bearer t\u00f6ken"}, 401, "invalid_device_token"),
            ({"HTTP_AUTHORIZATION": f"Token {self.laptop.device_token}"}, 401, "not_authenticated"),
        ]
        for headers, status, code in cases:
            with self.subTest(headers=headers):
                r = Client().get("/api/v1/device", **headers)
                self.assertEqual((r.status_code, r.json()["code"]), (status, code))
                self.assertEqual(r["WWW-Authenticate"], 'Bearer realm="ony"')

    def test_it_refuses_a_revoked_device_for_good(self):
        services.revoke(self.laptop.device, actor=self.alice_m.public_id)
        r = self.get("/api/v1/device", self.laptop.device_token)
        self.assertEqual((r.status_code, r.json()["code"]), (401, "device_revoked"))
        services.unfreeze(self.laptop.device, actor=self.alice_m.public_id)
        self.assertEqual(self.get("/api/v1/device", self.laptop.device_token).status_code, 401)

    def test_it_refuses_a_frozen_device_until_it_is_unfrozen(self):
        services.freeze(
            self.laptop.device, actor=self.alice_m.public_id, reason="unexpected_request"
        )
        r = self.get("/api/v1/device", self.laptop.device_token)
        self.assertEqual((r.status_code, r.json()["code"]), (403, "device_frozen"))
        services.unfreeze(self.laptop.device, actor=self.alice_m.public_id)
        self.assertEqual(self.get("/api/v1/device", self.laptop.device_token).status_code, 200)
        events = [e.event for e in self.laptop.device.org.audit_entries.order_by("seq")][-2:]
        self.assertEqual(events, ["device.frozen", "device.unfrozen"])

    def test_it_keeps_devices_and_members_apart(self):
        # A device cannot use the members' API ...
        r = self.get("/api/v1/orgs", self.laptop.device_token)
        self.assertEqual((r.status_code, r.json()["code"]), (403, "not_authenticated"))
        # ... and a member's session is not a device.
        r = self.client_for(self.alice).get("/api/v1/device")
        self.assertEqual(r.status_code, 401)

    def test_it_serves_only_the_devices_own_orgs_checkpoint(self):
        r = self.get("/api/v1/audit/checkpoint", self.laptop.device_token)
        self.assertEqual((r.status_code, r.json()["code"]), (404, "no_checkpoint"))
        acme_checkpoint = audit.checkpoint(self.acme)
        audit.append(self.globex, "device.revoked", SYSTEM, "dev_aa11")
        audit.checkpoint(self.globex)
        note = self.get("/api/v1/audit/checkpoint", self.laptop.device_token).json()
        self.assertEqual(note, acme_checkpoint.as_note())
        self.assertEqual(note["org"], self.acme.public_id)
        key = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(self.get("/api/v1/audit/public-key").json()["public_key"])
        )
        unsigned = {k: v for k, v in note.items() if k != "signature"}
        key.verify(
            base64.b64decode(note["signature"]), b"ony-checkpoint-v1\n" + canonical(unsigned)
        )


class SigningTests(OnyTestCase):
    def setUp(self):
        self.enrolled = enroll_device(self.acme, "laptop")
        self.device = self.enrolled.device
        now = datetime.now(UTC)
        self.unsigned = {
            "v": 1,
            "request_id": "req_000000000001",
            "device_id": self.device.public_id,
            "agent_session_id": "sess_1",
            "action": "deploy.production",
            "target": "prod-api",
            "risk": "critical",
            "decision": "approve",
            "decided_via": "dashboard",
            "nonce": "n0nce",
            "issued_at": format_verdict_time(now),
            "expires_at": format_verdict_time(now + timedelta(minutes=2)),
            "audit_seq": 5,
            "audit_hash": "ab" * 32,
        }
        self.expected = Expected(
            self.device.public_id,
            "req_000000000001",
            "n0nce",
            "deploy.production",
            "prod-api",
            "critical",
        )

    def connector_key(self) -> bytes:
        """The key as the connector holds it: the base64url string enrollment returned."""
        return base64.urlsafe_b64decode(self.enrolled.decision_key + "=")

    def test_it_signs_what_the_connector_accepts(self):
        verdict = services.sign_verdict(self.device, self.unsigned)
        self.assertTrue(is_approval(self.connector_key(), verdict, self.expected))

    def test_another_devices_key_does_not_verify_it(self):
        verdict = services.sign_verdict(self.device, self.unsigned)
        other = enroll_device(self.acme, "other")
        other_key = base64.urlsafe_b64decode(other.decision_key + "=")
        self.assertFalse(is_approval(other_key, verdict, self.expected))

    def test_it_refuses_to_sign_for_a_revoked_or_frozen_device(self):
        for change in (
            lambda d: services.freeze(d, actor=SYSTEM, reason="admin"),
            lambda d: services.revoke(d, actor=SYSTEM),
        ):
            change(self.device)
            with self.assertRaises(services.DeviceError) as ctx:
                services.sign_verdict(self.device, self.unsigned)
            self.assertEqual(ctx.exception.code, "device_inactive")

    def test_it_signs_only_for_the_verdicts_own_device(self):
        other = enroll_device(self.acme, "other").device
        with self.assertRaises(ValueError):
            services.sign_verdict(other, self.unsigned)
