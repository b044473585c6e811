"""Members read and decide their orgs' handoffs: roles, TOTP for critical, API tokens."""

from __future__ import annotations

import base64
import json

from django.test import Client

from audit.models import AuditEntry
from handoffs import services
from handoffs.models import Handoff
from ony import api_tokens
from ony import services as org_services
from ony.connector.verdict import Expected, is_approval
from ony.models import TOTPDevice, User
from telephony import services as telephony
from tests.base import OnyTestCase, bearer, current_code, enroll_device, make_handoff


class DecisionTests(OnyTestCase):
    def setUp(self):
        self.laptop = enroll_device(self.acme, "laptop", self.alice_m)
        self.handoff = self.create("deploy.production", "crit-nonce-1")  # critical
        self.high = self.create("db.migrate", "high-nonce-1")  # high
        self.bob_token = api_tokens.create(self.bob, "cli")[1]

    def create(self, action, nonce, device=None):
        return make_handoff(
            device or self.laptop.device, action, nonce=nonce, target="prod", title="Do it"
        )

    def decide(self, handoff, body, token=None, client=None):
        """With ``client`` (a dashboard session) as is; otherwise with a personal API token."""
        headers = {} if client else {"HTTP_AUTHORIZATION": f"Token {token or self.bob_token}"}
        client = client or Client()
        return client.post(
            f"/api/v1/handoffs/{handoff.public_id}/decision",
            json.dumps(body),
            content_type="application/json",
            **headers,
        )

    def test_a_member_approves_with_a_totp_code_and_the_device_can_verify_it(self):
        code = current_code(TOTPDevice.objects.get(user=self.bob))
        r = self.decide(self.handoff, {"decision": "approve", "otp": code})
        self.assertEqual(r.status_code, 200, r.content)
        body = r.json()
        self.assertEqual(
            (body["status"], body["decided_via"], body["decided_by"]),
            ("approved", "api", self.bob_m.public_id),
        )
        key = base64.urlsafe_b64decode(self.laptop.decision_key + "=")
        expected = Expected(
            self.laptop.device.public_id,
            self.handoff.public_id,
            "crit-nonce-1",
            "deploy.production",
            "prod",
            "critical",
        )
        self.assertTrue(is_approval(key, body["verdict"], expected))
        entry = AuditEntry.objects.for_org(self.acme).get(seq=body["verdict"]["audit_seq"])
        self.assertEqual((entry.event, entry.actor), ("handoff.decided", self.bob_m.public_id))

    def test_critical_without_or_with_a_wrong_code_is_not_approved(self):
        r = self.decide(self.handoff, {"decision": "approve"})
        self.assertEqual((r.status_code, r.json()["code"]), (400, "otp_required"))
        device = TOTPDevice.objects.get(user=self.bob)
        wrong = str((int(current_code(device)) + 1) % 1_000_000).zfill(6)
        r = self.decide(self.handoff, {"decision": "approve", "otp": wrong})
        self.assertEqual((r.status_code, r.json()["code"]), (403, "invalid_otp"))
        r = self.decide(self.handoff, {"decision": "approve", "otp": "12345"})
        self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid"))
        self.assertEqual(Handoff.objects.get(pk=self.handoff.pk).status, "pending")
        failed = AuditEntry.objects.for_org(self.acme).filter(event="otp.failed")
        self.assertEqual(
            [(e.actor, e.subject) for e in failed], [(self.bob_m.public_id, self.handoff.public_id)]
        )

    def test_a_high_handoff_needs_no_code_and_deny_never_does(self):
        self.assertEqual(
            self.decide(self.high, {"decision": "approve"}).json()["status"], "approved"
        )
        self.assertEqual(self.decide(self.handoff, {"decision": "deny"}).json()["status"], "denied")

    def test_an_org_routing_high_to_phone_plus_totp_needs_a_code(self):

        org_services.update_organization(self.acme, actor="system", policy_high="phone_totp")
        r = self.decide(self.create("db.migrate", "high-nonce-2"), {"decision": "approve"})
        self.assertEqual(r.json()["code"], "otp_required")

    def test_a_viewer_cannot_decide(self):
        carol_token = api_tokens.create(self.carol, "cli")[1]
        r = self.decide(self.high, {"decision": "approve"}, token=carol_token)
        self.assertEqual((r.status_code, r.json()["code"]), (403, "permission_denied"))
        self.assertEqual(Handoff.objects.get(pk=self.high.pk).status, "pending")

    def test_every_channel_rechecks_the_decider_at_the_moment_of_decision(self):
        """``decide`` itself refuses a person who may no longer decide, whatever the channel."""
        carol, gus = self.carol_m, self.gus_m  # a viewer of Acme; a member of Globex
        bob = self.bob_m
        User.objects.filter(pk=self.bob.pk).update(is_active=False)  # deactivated since
        for via in ("dashboard", "ivr", "api", "slack", "telegram"):
            for who in (carol, gus, bob):
                with self.subTest(via=via, who=who.user.email):
                    with self.assertRaises(services.HandoffError) as refused:
                        services.decide(self.high, "approve", via=via, actor=who.public_id, by=who)
                    self.assertEqual(refused.exception.code, "permission_denied")
        self.high.refresh_from_db()
        self.assertEqual((self.high.status, self.high.verdict), ("pending", None))
        self.assertFalse(
            AuditEntry.objects.for_org(self.acme)
            .filter(subject=self.high.public_id, event="handoff.decided")
            .exists()
        )

    def test_inactive_members_are_never_phoned(self):
        self.bob_m.oncall_order = 1
        self.bob_m.save()
        self.assertEqual(telephony.approvers(self.acme.pk), [self.bob_m])
        User.objects.filter(pk=self.bob.pk).update(is_active=False)
        self.assertEqual(telephony.approvers(self.acme.pk), [])

    def test_another_orgs_member_cannot_see_or_decide(self):
        gina_token = api_tokens.create(self.gina, "cli")[1]
        r = self.decide(self.high, {"decision": "approve"}, token=gina_token)
        self.assertEqual((r.status_code, r.json()["code"]), (404, "not_found"))
        r = Client().get(
            f"/api/v1/handoffs/{self.high.public_id}", HTTP_AUTHORIZATION=f"Token {gina_token}"
        )
        self.assertEqual(r.status_code, 404)
        listing = Client().get("/api/v1/handoffs", HTTP_AUTHORIZATION=f"Token {gina_token}").json()
        self.assertEqual(listing["results"], [])
        self.assertEqual(Handoff.objects.get(pk=self.high.pk).status, "pending")

    def test_a_second_decision_is_refused(self):
        self.decide(self.high, {"decision": "deny"})
        r = self.decide(self.high, {"decision": "approve"})
        self.assertEqual((r.status_code, r.json()["code"]), (409, "already_decided"))
        self.assertEqual(Handoff.objects.get(pk=self.high.pk).status, "denied")

    def test_it_answers_bad_decisions_with_a_code(self):
        for body, field, code in [
            ({}, "decision", "required"),
            ({"decision": "maybe"}, "decision", "invalid_choice"),
            ({"decision": "approve", "extra": 1}, "extra", "unknown_field"),
        ]:
            with self.subTest(body=body):
                r = self.decide(self.high, body)
                self.assertEqual(r.json()["errors"][field][0]["code"], code)

    def test_a_session_member_decides_too(self):
        r = self.decide(self.high, {"decision": "approve"}, client=self.client_for(self.alice))
        self.assertEqual((r.status_code, r.json()["decided_by"]), (200, self.alice_m.public_id))

    def test_members_list_and_read_their_orgs_handoffs(self):
        listing = Client().get(
            "/api/v1/handoffs?status=pending", HTTP_AUTHORIZATION=f"Token {self.bob_token}"
        )
        ids = {h["request_id"] for h in listing.json()["results"]}
        self.assertEqual(ids, {self.handoff.public_id, self.high.public_id})
        detail = (
            Client()
            .get(
                f"/api/v1/handoffs/{self.high.public_id}",
                HTTP_AUTHORIZATION=f"Token {self.bob_token}",
            )
            .json()
        )
        self.assertEqual(
            (detail["device"]["name"], detail["title"], detail["org"]), ("laptop", "Do it", "acme")
        )
        self.assertNotIn("payload", detail)
        r = Client().get(
            "/api/v1/handoffs?status=bogus", HTTP_AUTHORIZATION=f"Token {self.bob_token}"
        )
        self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid_status"))

    def test_devices_cannot_decide_or_list(self):

        r = Client().post(
            f"/api/v1/handoffs/{self.high.public_id}/decision",
            json.dumps({"decision": "approve"}),
            content_type="application/json",
            **bearer(self.laptop.device_token),
        )
        self.assertEqual(r.status_code, 403)
        self.assertEqual(
            Client().get("/api/v1/handoffs", **bearer(self.laptop.device_token)).status_code, 403
        )
        self.assertEqual(Handoff.objects.get(pk=self.high.pk).status, "pending")


class ApiTokenTests(OnyTestCase):
    def test_it_records_its_last_use_at_most_once_a_minute(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        record, token = api_tokens.create(self.bob, "cli")
        api_tokens.user_for(token)
        record.refresh_from_db()
        self.assertIsNotNone(record.last_used_at)
        with CaptureQueriesContext(connection) as queries:
            api_tokens.user_for(token)
        self.assertFalse([q for q in queries if q["sql"].startswith("UPDATE")])

    def test_a_revoked_or_wrong_token_is_refused(self):
        record, token = api_tokens.create(self.bob, "cli")
        ok = Client().get("/api/v1/orgs", HTTP_AUTHORIZATION=f"Token {token}")
        self.assertEqual(ok.status_code, 403)  # the team API is session-only; handoffs take tokens
        self.assertEqual(
            Client().get("/api/v1/handoffs", HTTP_AUTHORIZATION=f"Token {token}").status_code, 200
        )
        api_tokens.revoke(record)
        r = Client().get("/api/v1/handoffs", HTTP_AUTHORIZATION=f"Token {token}")
        self.assertEqual((r.status_code, r.json()["code"]), (401, "invalid_api_token"))
        r = Client().get("/api/v1/handoffs", HTTP_AUTHORIZATION="Token nope")
        self.assertEqual(r.json()["code"], "invalid_api_token")

    def test_it_is_stored_hashed_and_shown_once_in_the_admin(self):
        import re

        from django.urls import reverse

        r = self.client_for(self.bob).post(
            reverse("admin:ony_apitoken_add"), {"name": "laptop cli"}
        )
        token = re.search(r'<pre id="secret">(ony_pat_[\w-]+)</pre>', r.content.decode()).group(1)
        record = self.bob.api_tokens.get()
        self.assertNotEqual(record.token_hash, token)
        self.assertEqual(api_tokens.user_for(token)[0], self.bob)
        # Everyone sees only their own tokens.
        listing = self.client_for(self.alice).get(reverse("admin:ony_apitoken_changelist"))
        self.assertNotContains(listing, "laptop cli")
