"""``GET /api/v1/handoffs/{request_id}/progress``: how far a request got, naming nobody."""

from __future__ import annotations

import io

from django.test import Client, SimpleTestCase, override_settings

from handoffs import services as handoffs
from handoffs.models import Status
from ony.connector.narrate import Narrator
from telephony.models import CallAttempt, CallStatus
from tests.base import OnyTestCase, bearer, enroll_device, make_handoff
from tests.chat import ChatTestCase

NO_PROVIDER = {"ONY_TELEPHONY_SIMULATOR": False, "SIGNALWIRE_PROJECT": ""}


def url(handoff) -> str:
    return f"/api/v1/handoffs/{handoff.public_id}/progress"


def by_channel(body: dict) -> dict[str, dict]:
    return {report.pop("channel"): report for report in body["channels"]}


@override_settings(**NO_PROVIDER)
class ProgressTests(OnyTestCase):
    def setUp(self) -> None:
        self.laptop = enroll_device(self.acme)
        self.handoff = make_handoff(self.laptop.device, "db.migrate", target="orders-db")

    def progress(self, handoff=None, token: str | None = None) -> dict:
        response = Client().get(
            url(handoff or self.handoff), **bearer(token or self.laptop.device_token)
        )
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()

    def test_it_says_nobody_can_be_called_without_a_provider(self):
        body = self.progress()
        self.assertEqual((body["request_id"], body["status"]), (self.handoff.public_id, "pending"))
        self.assertEqual(
            by_channel(body),
            {
                "phone": {"state": "nobody", "people": 0, "contacted": 0},
                "chat": {"state": "nobody", "people": 0, "contacted": 0},
                "dashboard": {"state": "open", "people": 0, "contacted": 0},
            },
        )

    @override_settings(ONY_TELEPHONY_SIMULATOR=True)
    def test_it_counts_the_approvers_who_can_be_called_and_the_calls_placed(self):
        self.acme.memberships.filter(pk=self.alice_m.pk).update(oncall_order=1)
        self.acme.memberships.filter(pk=self.bob_m.pk).update(oncall_order=2)
        # Carol is a viewer: never phoned, so not counted.
        self.acme.memberships.filter(pk=self.carol_m.pk).update(oncall_order=3)
        phone = by_channel(self.progress())["phone"]
        self.assertEqual(phone, {"state": "waiting", "people": 2, "contacted": 0})

        attempt = CallAttempt.objects.create(
            org=self.acme, handoff=self.handoff, member=self.alice_m
        )
        phone = by_channel(self.progress())["phone"]  # saved, not yet placed (a round's pause)
        self.assertEqual(phone, {"state": "waiting", "people": 2, "contacted": 0})

        CallAttempt.objects.filter(pk=attempt.pk).update(
            call_sid="CA0123", status=CallStatus.RINGING
        )
        phone = by_channel(self.progress())["phone"]
        self.assertEqual(phone, {"state": "calling", "people": 2, "contacted": 1})

        CallAttempt.objects.filter(handoff=self.handoff).update(status=CallStatus.NO_ANSWER)
        phone = by_channel(self.progress())["phone"]
        self.assertEqual(phone, {"state": "waiting", "people": 2, "contacted": 1})

    def test_once_decided_every_channel_is_done(self):
        handoffs.decide(self.handoff, "deny", via="dashboard", actor=self.alice_m.public_id)
        body = self.progress()
        self.assertEqual(body["status"], Status.DENIED)
        self.assertEqual({r["state"] for r in body["channels"]}, {"done"})

    def test_a_request_the_policy_decided_went_to_nobody(self):
        decided = make_handoff(self.laptop.device, "test.run")
        body = self.progress(decided)
        self.assertEqual((body["status"], body["channels"]), ("approved", []))

    def test_a_risk_the_policy_leaves_to_the_agent_is_not_phoned(self):
        deferred = make_handoff(self.laptop.device, "file.write")
        self.assertEqual(self.progress(deferred)["channels"], [])

    def test_members_read_their_orgs_and_nobody_else_does(self):
        other_laptop = enroll_device(self.acme, name="other")
        response = Client().get(url(self.handoff), **bearer(other_laptop.device_token))
        self.assertEqual((response.status_code, response.json()["code"]), (404, "not_found"))
        globex = enroll_device(self.globex)
        response = Client().get(url(self.handoff), **bearer(globex.device_token))
        self.assertEqual((response.status_code, response.json()["code"]), (404, "not_found"))
        response = self.client_for(self.gina).get(url(self.handoff))
        self.assertEqual((response.status_code, response.json()["code"]), (404, "not_found"))
        response = self.client_for(self.carol).get(url(self.handoff))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["request_id"], self.handoff.public_id)
        response = Client().get(url(self.handoff))
        self.assertEqual(response.status_code, 401)

    def test_it_names_nobody(self):
        body = self.progress()
        self.assertEqual(set(body), {"request_id", "status", "channels"})
        for channel in body["channels"]:
            self.assertEqual(set(channel), {"channel", "state", "people", "contacted"})
            self.assertIsInstance(channel["people"], int)
            self.assertIsInstance(channel["contacted"], int)


class ChatProgressTests(ChatTestCase):
    def test_it_counts_the_linked_approvers_and_the_messages_sent(self):
        handoff = self.ask()
        self.all_sent(handoff)
        laptop_token = self.laptop.device_token
        response = Client().get(url(handoff), **bearer(laptop_token))
        chat = by_channel(response.json())["chat"]
        # Alice and Bob (Carol is a viewer), each on Slack and Telegram.
        self.assertEqual(chat, {"state": "sent", "people": 2, "contacted": 4})


class NarratorTests(SimpleTestCase):
    def report(self, **phone: object) -> dict:
        return {
            "request_id": "req_1",
            "status": "pending",
            "channels": [
                {"channel": "phone", "people": 2, "contacted": 0, **phone},
                {"channel": "dashboard", "state": "open", "people": 0, "contacted": 0},
            ],
        }

    def test_it_says_each_change_once(self):
        out = io.StringIO()
        narrator = Narrator(out)
        narrator.progress(self.report(state="waiting"))
        narrator.progress(self.report(state="waiting"))
        narrator.progress(self.report(state="calling", contacted=1))
        self.assertEqual(
            out.getvalue().splitlines(),
            [
                "ony: phone: 2 approvers can be called; 0 calls so far",
                "ony: dashboard: open for a decision by any approver of the organization",
                "ony: phone: calling an approver now (1 call so far; 2 approvers can be called)",
            ],
        )

    def test_nobody_callable_points_to_the_dashboard(self):
        out = io.StringIO()
        Narrator(out).progress(self.report(state="nobody", people=0))
        self.assertIn("phone: nobody can be called", out.getvalue())
        self.assertIn("decide in the dashboard", out.getvalue())

    def test_odd_reports_and_a_closed_stream_say_nothing_and_raise_nothing(self):
        out = io.StringIO()
        narrator = Narrator(out)
        for odd in ({}, {"channels": "x"}, {"channels": [1, None, {"channel": "phone"}]}):
            narrator.progress(odd)
        narrator.progress(self.report(state="no-such-state"))
        self.assertEqual(
            out.getvalue(),
            "ony: dashboard: open for a decision by any approver of the organization\n",
        )
        out.close()
        narrator.progress(self.report(state="calling", contacted=3))
