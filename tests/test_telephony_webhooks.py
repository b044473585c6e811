"""The provider's webhooks: signatures, replays, stale steps and late digits change nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.test import SimpleTestCase, override_settings
from django.utils import timezone

from audit.models import AuditEntry
from devices.models import Device
from handoffs import services as handoffs
from handoffs.models import Handoff, Status
from ony import services as org_services
from ony.connector import classify
from ony.models import User
from ony.roles import Role
from telephony import services, voice
from telephony.conf import provider
from telephony.models import CallAttempt, CallStatus, Stage
from telephony.signatures import sign
from tests.base import OnyTestCase, enroll_device
from tests.telephony import migration_handoff

PUBLIC = "http://testserver"


@override_settings(ONY_TELEPHONY_SIMULATOR=True, SIGNALWIRE_PROJECT="", ONY_PUBLIC_URL=PUBLIC)
class WebhookTests(OnyTestCase):
    def setUp(self):
        self.alice_m.oncall_order = 1
        self.alice_m.save()
        laptop = enroll_device(self.acme)
        self.handoff = migration_handoff(laptop.device, "webhook-1")
        self.attempt = services.call_next(self.handoff.pk)  # saved; the call is never placed here
        self.key = provider().signing_key

    def post(self, name: str, params: dict, *, key: str | None = None, header: str = "SignalWire"):
        url = voice.webhook_url(name, self.attempt, step=name in ("keys", "silence"))
        headers: dict[str, Any] = {}  # WSGI environ extras for the test client
        if key != "":
            signature = sign(key or self.key, url, params)
            headers[f"HTTP_X_{header.upper()}_SIGNATURE"] = signature
        return self.form_post(url.removeprefix(PUBLIC), params, **headers)

    def form_post(self, path: str, params: dict, **headers: Any):
        """POST ``params`` as providers do: form-encoded."""
        return self.client.post(
            path, urlencode(params), content_type="application/x-www-form-urlencoded", **headers
        )

    def call_params(self, **extra: str) -> dict:
        return {
            "CallSid": "CA" + "0" * 32,
            "AccountSid": "PJ" + "0" * 32,
            "CallStatus": "in-progress",
            "From": "+15005550006",
            "To": self.alice_m.phone,
            **extra,
        }

    def reload(self):
        self.attempt.refresh_from_db()
        self.handoff.refresh_from_db()

    def audit_count(self) -> int:
        return AuditEntry.objects.filter(org=self.acme).count()

    def state(self) -> tuple:
        """What a refused request must leave as it was."""
        self.reload()
        return (
            self.handoff.status,
            self.attempt.status,
            self.attempt.step,
            self.attempt.silences,
            self.audit_count(),
        )

    def test_it_answers_a_signed_call_with_the_menu(self):
        response = self.post("answer", self.call_params(AnsweredBy="human"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/xml; charset=utf-8")
        body = response.content.decode()
        self.assertIn('<Gather action="http://testserver/telephony/calls/', body)
        self.assertIn('numDigits="1"', body)
        self.assertIn("Press 1 to approve", body)
        self.reload()
        self.assertEqual(self.attempt.status, CallStatus.IN_PROGRESS)

    def test_it_speaks_in_the_configured_voice(self):
        self.assertIn("<Say>This is Ony,", self.post("answer", self.call_params()).content.decode())
        with self.settings(ONY_CALL_VOICE="amazon.Joanna:standard:en-US"):
            self.reload()
            response = self.post("keys", self.call_params(Digits="*"))
        self.assertIn('<Say voice="amazon.Joanna:standard:en-US">', response.content.decode())

    def test_it_accepts_twilios_header_too(self):
        response = self.post("answer", self.call_params(), header="Twilio")
        self.assertEqual(response.status_code, 200)

    def test_a_missing_signature_is_refused_and_changes_nothing(self):
        before = self.state()
        response = self.post("answer", self.call_params(), key="")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json()["code"], "invalid_signature")
        self.assertEqual(self.state(), before)

    def test_a_forged_signature_is_refused_and_changes_nothing(self):
        self.post("answer", self.call_params())
        before = self.state()
        response = self.post("keys", self.call_params(Digits="1"), key="not-the-signing-key")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.state(), before)

    def test_a_signature_for_other_digits_is_refused(self):
        self.post("answer", self.call_params())
        self.reload()
        url = voice.webhook_url("keys", self.attempt, step=True)
        signature = sign(self.key, url, self.call_params(Digits="2"))
        response = self.form_post(
            url.removeprefix(PUBLIC),
            self.call_params(Digits="1"),
            HTTP_X_SIGNALWIRE_SIGNATURE=signature,
        )
        self.assertEqual(response.status_code, 403)
        self.reload()
        self.assertEqual(self.handoff.status, Status.PENDING)

    def test_a_replayed_request_finds_a_stale_step_and_changes_nothing(self):
        self.post("answer", self.call_params())
        self.reload()
        url = voice.webhook_url("keys", self.attempt, step=True)
        params = self.call_params(Digits="*")
        signature = sign(self.key, url, params)
        path = url.removeprefix(PUBLIC)
        first = self.form_post(path, params, HTTP_X_SIGNALWIRE_SIGNATURE=signature)
        self.assertEqual(first.status_code, 200)
        before = self.state()

        replay = self.form_post(path, params, HTTP_X_SIGNALWIRE_SIGNATURE=signature)
        self.assertEqual(replay.status_code, 403)
        self.assertEqual(replay.json()["code"], "stale_step")
        self.assertEqual(self.state(), before)

    def test_a_replayed_answer_during_the_call_repeats_the_prompt_and_changes_nothing(self):
        self.post("answer", self.call_params())
        before = self.state()  # reloads: the step the approver's phone now holds
        replay = self.post("answer", self.call_params())
        self.assertEqual(replay.status_code, 200)
        self.assertEqual(self.state(), before)  # the step token too
        self.assertIn(f"step={self.attempt.step}", replay.content.decode())
        pressed = self.post("keys", self.call_params(Digits="2"))  # the approver's real key
        self.assertIn("Denied", pressed.content.decode())
        self.reload()
        self.assertEqual((self.handoff.status, self.handoff.decided_via), (Status.DENIED, "ivr"))

    def test_a_status_from_before_the_answer_cannot_restart_a_live_call(self):
        self.post("answer", self.call_params())
        before = self.state()
        self.post("status", self.call_params(CallStatus="ringing"))  # late, or replayed
        replay = self.post("answer", self.call_params())
        self.assertEqual(self.state(), before)
        self.assertIn(f"step={self.attempt.step}", replay.content.decode())
        self.assertEqual(self.attempt.status, "in-progress")

    def test_it_speaks_onys_facts_before_the_agents_words_and_the_risk_before_the_menu(self):
        Handoff.objects.filter(pk=self.handoff.pk).update(
            title="Routine check. Action: file read, on README. Risk: low. Press 1 to approve"
        )
        said = re.findall(
            r"<Say>(.*?)</Say>", self.post("answer", self.call_params()).content.decode()
        )
        self.assertEqual(len(said), 4)
        facts, agents, risk, menu = said
        self.assertEqual(
            facts, "This is Ony, with an approval request. Action: database migrate. Risk: high."
        )
        self.assertTrue(
            agents.startswith("The agent's words follow. Device: laptop. Target: orders-db.")
        )
        self.assertIn("Press 1 to approve", agents)  # spoken as the agent's words, after the facts
        self.assertTrue(agents.endswith("End of the agent's words."))
        self.assertEqual(risk, "Once more, from Ony: action database migrate, risk high.")
        self.assertTrue(menu.startswith("Press 1 to approve."))

    def test_the_agents_words_cannot_close_early_or_pass_for_onys(self):
        Device.objects.filter(pk=self.handoff.device_id).update(
            name="x. End of the agent\u2019s words. This is Ony"
        )
        Handoff.objects.filter(pk=self.handoff.pk).update(
            target="prod. END OF THE AGENT'S  WORDS",
            title="Fine. End of the agent's End of the agent's words words. Once more, from Ony",
        )
        said = re.findall(
            r"<Say>(.*?)</Say>", self.post("answer", self.call_params()).content.decode()
        )
        _, agents, risk, _ = said
        self.assertEqual(agents.lower().count("end of the agent"), 1)
        self.assertTrue(agents.endswith("End of the agent's words."))
        self.assertNotIn("this is ony", agents.lower())
        self.assertNotIn("from ony", agents.lower())
        self.assertEqual(risk, "Once more, from Ony: action database migrate, risk high.")

    def test_it_says_an_unknown_actions_name_as_the_agents(self):
        Handoff.objects.filter(pk=self.handoff.pk).update(action="risk.low.press.one")
        body = self.post("answer", self.call_params()).content.decode()
        self.assertIn("Action: one Ony does not know, named risk low press one.", body)

    def test_it_cuts_the_agents_words_short(self):
        Handoff.objects.filter(pk=self.handoff.pk).update(title="word " * 40, target="t" * 200)
        body = self.post("answer", self.call_params()).content.decode()
        agents = re.findall(r"<Say>(The agent.*?)</Say>", body)[0]
        description = agents.split("Description: ")[1]
        self.assertLessEqual(len(description.split(". End of")[0]), voice.AGENT_WORDS_LIMIT)
        self.assertLessEqual(agents.count("t"), 80 + 10)  # the target, cut short too

    def test_a_member_removed_during_the_call_is_refused_and_the_escalation_moves_on(self):
        self.post("answer", self.call_params())
        self.reload()
        org_services.update_member(self.bob_m, actor="system", role=Role.ADMIN)  # Alice may go
        org_services.remove_member(self.alice_m, actor="system")
        entries = self.audit_count()
        response = self.post("keys", self.call_params(Digits="1"))
        self.assertEqual(response.status_code, 200)
        body = response.content.decode()
        self.assertIn("can no longer decide", body)
        self.assertIn("<Hangup />", body)
        self.reload()
        self.assertEqual(self.handoff.status, Status.PENDING)
        self.assertEqual((self.attempt.stage, self.attempt.outcome), (Stage.DONE, "not_allowed"))
        self.assertEqual(self.audit_count(), entries)
        self.post("status", self.call_params(CallStatus="completed"))
        self.reload()
        self.assertEqual(self.attempt.status, CallStatus.COMPLETED)
        self.assertNotIn(self.attempt.outcome, services.DECIDED_OUTCOMES)

    def test_a_member_demoted_during_the_call_cannot_approve(self):
        self.post("answer", self.call_params())
        self.reload()
        org_services.update_member(self.bob_m, actor="system", role=Role.ADMIN)  # Alice may go
        org_services.update_member(self.alice_m, actor="system", role=Role.VIEWER)
        response = self.post("keys", self.call_params(Digits="1"))
        self.assertIn("can no longer decide", response.content.decode())
        self.reload()
        self.assertEqual(self.handoff.status, Status.PENDING)

    def test_a_user_deactivated_during_the_call_cannot_approve(self):
        self.post("answer", self.call_params())
        self.reload()
        User.objects.filter(pk=self.alice.pk).update(is_active=False)
        response = self.post("keys", self.call_params(Digits="2"))
        self.assertIn("can no longer decide", response.content.decode())
        self.reload()
        self.assertEqual(self.handoff.status, Status.PENDING)

    def test_digits_for_a_handoff_decided_in_the_dashboard_change_nothing(self):
        self.post("answer", self.call_params())
        handoffs.decide_as_member(self.bob, self.handoff, "deny")
        entries = self.audit_count()
        self.reload()

        response = self.post("keys", self.call_params(Digits="1"))
        self.assertEqual(response.status_code, 200)
        self.assertIn("already denied", response.content.decode())
        self.assertIn("<Hangup />", response.content.decode())
        self.reload()
        self.assertEqual(
            (self.handoff.status, self.handoff.decided_by), (Status.DENIED, self.bob_m)
        )
        self.assertEqual(self.audit_count(), entries)
        self.assertEqual(self.attempt.stage, Stage.DONE)

    def test_digits_after_the_deadline_change_nothing_but_the_expiry(self):
        self.post("answer", self.call_params())
        self.reload()
        Handoff.objects.filter(pk=self.handoff.pk).update(
            deadline=timezone.now() - timedelta(seconds=1)
        )
        response = self.post("keys", self.call_params(Digits="1"))
        self.assertIn("already expired", response.content.decode())
        self.reload()
        self.assertEqual(
            (self.handoff.status, self.handoff.decided_via), (Status.EXPIRED, "deadline")
        )
        self.assertEqual(self.handoff.verdict["decision"], "deny")

    def test_it_refuses_what_is_not_a_post(self):
        url = voice.webhook_url("answer", self.attempt).removeprefix(PUBLIC)
        response = self.client.get(url)
        self.assertEqual(response.status_code, 405)
        self.assertEqual(response.json()["code"], "method_not_allowed")

    def test_a_body_that_is_not_a_form_is_refused_before_anything(self):
        url = voice.webhook_url("status", self.attempt)
        params = self.call_params(CallStatus="busy", AnsweredBy="x\x00")
        signature = sign(self.key, url, params)
        response = self.client.post(  # the test client's default: multipart
            url.removeprefix(PUBLIC), params, HTTP_X_SIGNALWIRE_SIGNATURE=signature
        )
        self.assertEqual(
            (response.status_code, response.json()["code"]), (415, "unsupported_media_type")
        )
        self.reload()
        self.assertEqual(self.attempt.status, "created")

    def test_it_never_redirects(self):
        url = voice.webhook_url("answer", self.attempt).removeprefix(PUBLIC)
        response = self.form_post(url + "/", self.call_params())
        self.assertEqual(response.status_code, 404)

    def test_an_unknown_call_is_404(self):
        self.attempt.code = "no-such-code"
        response = self.post("answer", self.call_params())
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.json()["code"], "not_found")

    def test_bad_digits_and_statuses_are_400(self):
        self.post("answer", self.call_params())
        self.reload()
        response = self.post("keys", self.call_params(Digits="1; DROP"))
        self.assertEqual((response.status_code, response.json()["code"]), (400, "invalid_digits"))
        response = self.post("status", self.call_params(CallStatus="exploded"))
        self.assertEqual((response.status_code, response.json()["code"]), (400, "invalid_status"))
        self.reload()
        self.assertEqual(self.attempt.status, CallStatus.IN_PROGRESS)

    def test_a_status_callback_twice_ends_the_call_once(self):
        self.post("status", self.call_params(CallStatus="busy"))
        self.post("status", self.call_params(CallStatus="busy"))
        self.reload()
        self.assertEqual(self.attempt.status, CallStatus.BUSY)
        ends = AuditEntry.objects.filter(org=self.acme, event="call.status").count()
        self.assertEqual(ends, 1)

    @override_settings(ONY_TELEPHONY_SIMULATOR=False)
    def test_without_a_provider_webhooks_are_off(self):
        response = self.post("answer", self.call_params())
        self.assertEqual(response.status_code, 404)


class CallAttemptTenancyTests(OnyTestCase):
    def test_call_attempts_are_scoped_and_phones_masked_in_the_admin(self):
        laptop = enroll_device(self.acme)
        handoff = migration_handoff(laptop.device, "admin-1")
        CallAttempt.objects.create(org=self.acme, handoff=handoff, member=self.alice_m)

        response = self.client_for(self.bob).get("/admin/telephony/callattempt/")
        self.assertContains(response, "+1 *** *** 0101")
        self.assertNotContains(response, self.alice_m.phone)
        self.assertContains(response, handoff.public_id)

        response = self.client_for(self.gina).get("/admin/telephony/callattempt/")
        self.assertNotContains(response, handoff.public_id)


class SpokenNamesTests(SimpleTestCase):
    """What the voice says for real requests: names read as words, not as code."""

    def test_actions_are_said_as_words(self):
        for action, said in (
            ("git.push_force", "git push, force"),
            ("git.push_protected", "git push, protected"),
            ("db.migrate", "database migrate"),
            ("file.delete_recursive", "file delete, recursive"),
            ("shell.readonly", "shell read only"),
            ("infra.destroy", "infrastructure destroy"),
            ("mcp.call", "M C P call"),
            ("deploy.production", "deploy production"),
        ):
            with self.subTest(action):
                self.assertEqual(voice.spoken_action(action), said)

    def test_real_commands_are_said_as_words(self):
        context = classify.Context(cwd="/srv/app", config_dir="/nonexistent")
        for command, action_said, target in (
            ("git push --force origin main", "git push, force", "origin main"),
            ("rm -rf build/", "file delete, recursive", "build"),
            ("terraform destroy", "infrastructure destroy", ""),
        ):
            with self.subTest(command):
                found = classify.classify_tool("Bash", {"command": command}, context)
                self.assertEqual(voice.spoken_action(found.action), action_said)
                self.assertIn(target, found.target)

    def test_the_agents_names_are_said_as_words_too(self):
        said = voice._agents("Claude Code Bash: git.push_force origin main v1.2.3", 120)
        self.assertEqual(said, "Claude Code Bash: git push force origin main v1.2.3")
