"""Handoffs: server-owned risk, org policy, one decision, signed verdicts, the agent's API."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from django.test import Client

from audit.events import SYSTEM
from audit.models import AuditEntry
from audit.verification import verify_org
from devices import services as devices
from handoffs import services
from handoffs.models import Handoff
from ony import services as org_services
from ony.connector.verdict import Expected, authenticate, is_approval
from tests.base import OnyTestCase, bearer, enroll_device


class HandoffTestCase(OnyTestCase):
    def setUp(self):
        self.laptop = enroll_device(self.acme, "laptop", self.alice_m)
        self.key = base64.urlsafe_b64decode(self.laptop.decision_key + "=")
        self.nonce_count = 0

    def body(self, **changes):
        self.nonce_count += 1
        body = {
            "action": "deploy.production",
            "target": "prod-api",
            "title": "Deploy prod-api",
            "summary": "Release 1.2.3",
            "agent_session_id": "sess_1",
            "nonce": f"nonce-{self.nonce_count:04d}",
        }
        body.update(changes)
        return body

    def post(self, body, token=None, **extra):
        return Client().post(
            "/api/v1/handoffs",
            json.dumps(body) if not isinstance(body, str) else body,
            content_type=extra.pop("content_type", "application/json"),
            **bearer(token or self.laptop.device_token),
            **extra,
        )

    def expected(self, response_body, nonce, action="deploy.production", target="prod-api"):
        return Expected(
            self.laptop.device.public_id, response_body["request_id"], nonce, action, target,
            response_body["risk"],
        )  # fmt: skip


class CreateTests(HandoffTestCase):
    def test_it_approves_low_risk_at_once_with_a_signed_verdict(self):
        body = self.body(action="test.run", target="unit tests")
        r = self.post(body)
        self.assertEqual(r.status_code, 201)
        data = r.json()
        self.assertEqual((data["status"], data["risk"]), ("approved", "low"))
        self.assertEqual(data["verdict"]["decided_via"], "policy")
        self.assertTrue(
            is_approval(
                self.key,
                data["verdict"],
                self.expected(data, body["nonce"], "test.run", "unit tests"),
            )
        )
        entry = AuditEntry.objects.for_org(self.acme).get(seq=data["verdict"]["audit_seq"])
        self.assertEqual(
            (entry.event, entry.hash_hex), ("handoff.decided", data["verdict"]["audit_hash"])
        )
        self.assertEqual(entry.data, {"decision": "approve", "decided_via": "policy"})
        self.assertTrue(verify_org(self.acme).ok)

    def test_it_defers_medium_risk_to_the_agents_prompt(self):
        body = self.body(action="git.push", target="origin/feature")
        data = self.post(body).json()
        self.assertEqual((data["status"], data["risk"]), ("deferred", "medium"))
        self.assertEqual(
            authenticate(
                self.key,
                data["verdict"],
                self.expected(data, body["nonce"], "git.push", "origin/feature"),
            ),
            "ask",
        )

    def test_it_keeps_high_and_critical_pending_for_a_person(self):
        for action in ("db.migrate", "deploy.production"):
            data = self.post(self.body(action=action)).json()
            self.assertEqual(data["status"], "pending")
            self.assertIsNone(data["verdict"])

    def test_the_hint_never_changes_the_risk_but_is_flagged(self):
        data = self.post(self.body(risk_hint="low")).json()
        handoff = Handoff.objects.get(public_id=data["request_id"])
        self.assertEqual(
            (handoff.risk, handoff.risk_hint, handoff.hint_mismatch), ("critical", "low", True)
        )
        created = AuditEntry.objects.for_org(self.acme).filter(event="handoff.created").last()
        self.assertEqual(created.data["hint_mismatch"], True)
        self.assertEqual(created.data["risk"], "critical")
        higher = self.post(self.body(action="test.run", risk_hint="critical")).json()
        self.assertEqual(higher["risk"], "low")
        self.assertFalse(Handoff.objects.get(public_id=higher["request_id"]).hint_mismatch)

    def test_an_unknown_action_is_critical_and_overrides_only_raise(self):
        self.assertEqual(self.post(self.body(action="launch.rocket")).json()["risk"], "critical")
        org_services.update_organization(
            self.acme, actor=SYSTEM, risk_overrides={"test.run": "high"}
        )
        data = self.post(self.body(action="test.run")).json()
        self.assertEqual((data["risk"], data["status"]), ("high", "pending"))

    def test_it_is_idempotent_per_device_and_nonce(self):
        body = self.body()
        first = self.post(body)
        entries = AuditEntry.objects.count()
        again = self.post({**body, "target": "something else"})
        self.assertEqual(AuditEntry.objects.count(), entries)  # a repeat records nothing
        self.assertEqual((first.status_code, again.status_code), (201, 200))
        self.assertEqual(first.json()["request_id"], again.json()["request_id"])
        self.assertEqual(Handoff.objects.count(), 1)
        # Another device may use the same nonce.
        other = enroll_device(self.acme, "other")
        self.assertEqual(self.post(body, other.device_token).status_code, 201)

    def test_it_encrypts_the_payload_and_audits_only_its_digest(self):
        from django.db import connection

        data = self.post(self.body(payload="kubectl apply -f prod.yaml")).json()
        with connection.cursor() as cursor:
            cursor.execute("SELECT payload FROM handoffs_handoff")
            self.assertNotIn("kubectl", cursor.fetchone()[0])
        handoff = Handoff.objects.get(public_id=data["request_id"])
        self.assertEqual(handoff.payload, "kubectl apply -f prod.yaml")
        created = AuditEntry.objects.for_org(self.acme).filter(event="handoff.created").last()
        self.assertEqual(created.data["payload_sha256"], handoff.payload_sha256)
        self.assertNotIn("kubectl", created.canonical)

    def test_it_answers_bad_input_with_a_stable_code(self):
        cases = [
            ({k: v for k, v in self.body().items() if k != "action"}, "action", "required"),
            (self.body(action=7), "action", "invalid"),
            (self.body(action="Deploy Prod"), "action", "invalid_action"),
            (self.body(target="e\u0301"), "target", "not_nfc"),
            (self.body(target="a\x07b"), "target", "control_character"),
            (self.body(target="call +1 415 555 0101"), "target", "phone_number"),
            (self.body(title="t" * 201), "title", "max_length"),
            (self.body(payload="x" * 65537), "payload", "max_length"),
            (self.body(options="not a list"), "options", "not_a_list"),
            (self.body(risk_hint="none"), "risk_hint", "invalid_choice"),
            (self.body(nonce="short"), "nonce", "invalid"),
            (self.body(surprise=True), "surprise", "unknown_field"),
        ]
        for body, field, code in cases:
            with self.subTest(field=field, code=code):
                r = self.post(body)
                self.assertEqual(r.status_code, 400)
                self.assertEqual(r.json()["code"], "invalid")
                self.assertEqual(r.json()["errors"][field][0]["code"], code)
        for raw, status, code in [
            ("{not json", 400, "parse_error"),
            ('"a string"', 400, "invalid"),
            (json.dumps(self.body(summary="x" * 200_000)), 413, "request_too_large"),
        ]:
            with self.subTest(raw=raw[:20]):
                r = self.post(raw)
                self.assertEqual((r.status_code, r.json()["code"]), (status, code))
        r = self.post("action=deploy", content_type="application/x-www-form-urlencoded")
        self.assertEqual((r.status_code, r.json()["code"]), (415, "unsupported_media_type"))
        self.assertEqual(Handoff.objects.count(), 0)


class ReadAndCancelTests(HandoffTestCase):
    def test_a_device_reads_only_its_own_handoffs(self):
        data = self.post(self.body()).json()
        url = f"/api/v1/handoffs/{data['request_id']}"
        self.assertEqual(Client().get(url, **bearer(self.laptop.device_token)).json(), data)
        for other in (
            enroll_device(self.acme, "colleague"),
            enroll_device(self.globex, "build box"),
        ):
            r = Client().get(url, **bearer(other.device_token))
            self.assertEqual((r.status_code, r.json()["code"]), (404, "not_found"))
            r = Client().post(url + "/cancel", **bearer(other.device_token))
            self.assertEqual(r.status_code, 404)
        self.assertEqual(Handoff.objects.get(public_id=data["request_id"]).status, "pending")

    def test_cancel_signs_a_deny_and_refuses_a_second_time(self):
        body = self.body()
        data = self.post(body).json()
        url = f"/api/v1/handoffs/{data['request_id']}/cancel"
        r = Client().post(url, **bearer(self.laptop.device_token))
        cancelled = r.json()
        self.assertEqual((r.status_code, cancelled["status"]), (200, "cancelled"))
        self.assertEqual(
            (cancelled["verdict"]["decision"], cancelled["verdict"]["decided_via"]),
            ("deny", "cancel"),
        )
        self.assertEqual(
            authenticate(self.key, cancelled["verdict"], self.expected(cancelled, body["nonce"])),
            "deny",
        )
        r = Client().post(url, **bearer(self.laptop.device_token))
        self.assertEqual((r.status_code, r.json()["code"]), (409, "already_decided"))
        self.assertEqual(
            AuditEntry.objects.for_org(self.acme).filter(event="handoff.cancelled").count(), 1
        )

    def test_cancel_after_a_decision_is_refused(self):
        data = self.post(self.body()).json()
        handoff = Handoff.objects.get(public_id=data["request_id"])
        services.decide(
            handoff, "approve", via="dashboard", actor=self.bob_m.public_id, by=self.bob_m
        )
        r = Client().post(
            f"/api/v1/handoffs/{data['request_id']}/cancel", **bearer(self.laptop.device_token)
        )
        self.assertEqual((r.status_code, r.json()["code"]), (409, "already_decided"))
        self.assertEqual(Handoff.objects.get(pk=handoff.pk).status, "approved")

    def test_a_read_past_the_deadline_expires_it_with_a_signed_deny(self):
        body = self.body()
        data = self.post(body).json()
        Handoff.objects.filter(public_id=data["request_id"]).update(
            deadline=Handoff.objects.get(public_id=data["request_id"]).deadline - timedelta(hours=1)
        )
        read = (
            Client()
            .get(f"/api/v1/handoffs/{data['request_id']}", **bearer(self.laptop.device_token))
            .json()
        )
        self.assertEqual(read["status"], "expired")
        self.assertEqual(
            (read["verdict"]["decision"], read["verdict"]["decided_via"]), ("deny", "deadline")
        )
        self.assertEqual(
            AuditEntry.objects.for_org(self.acme).filter(event="handoff.expired").count(), 1
        )

    def test_a_revoked_device_gets_no_signed_approval(self):
        data = self.post(self.body()).json()
        handoff = Handoff.objects.get(public_id=data["request_id"])
        devices.revoke(self.laptop.device, actor=self.alice_m.public_id)
        decided = services.decide(handoff, "approve", via="dashboard", actor=self.bob_m.public_id)
        self.assertIsNone(decided.verdict)
        r = Client().get(
            f"/api/v1/handoffs/{data['request_id']}", **bearer(self.laptop.device_token)
        )
        self.assertEqual(r.status_code, 401)
