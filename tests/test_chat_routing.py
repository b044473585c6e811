"""Who gets a chat message, when, and what it shows once the request is decided anywhere."""

from __future__ import annotations

from audit.events import SYSTEM
from chat import services as chat_services
from chat.models import ChatMessage, MessageStatus
from handoffs import services as handoffs
from handoffs.models import Status
from ony import services as org_services
from ony.models import Membership
from telephony.models import CallAttempt
from telephony.simulator import simulator
from tests.base import verified_client
from tests.chat import (
    ALICE_SLACK,
    ALICE_TELEGRAM,
    BOB_SLACK,
    BOB_TELEGRAM,
    WAIT,
    ChatLiveTestCase,
    ChatTestCase,
    post_to_slack_url,
    slack_click,
)
from tests.servers import until


def route(org, risk: str, when: str) -> None:
    org_services.update_organization(org, actor=SYSTEM, **{f"chat_{risk}": when})


class RoutingTests(ChatTestCase):
    def test_with_the_call_by_default_to_each_linked_on_call_decider(self):
        handoff = self.ask()
        self.all_sent(handoff)
        sent = ChatMessage.objects.filter(handoff=handoff)
        self.assertEqual(
            sorted((m.member.user.email, m.service) for m in sent),
            [
                ("alice@acme.test", "slack"),
                ("alice@acme.test", "telegram"),
                ("bob@acme.test", "slack"),
                ("bob@acme.test", "telegram"),
            ],
        )

    def test_off_sends_nothing(self):
        route(self.acme, "high", "off")
        handoff = self.ask()
        self.assertFalse(ChatMessage.objects.filter(handoff=handoff).exists())
        self.assertEqual(self.slack.calls, [])
        self.assertEqual(self.telegram.calls, [])

    def test_after_a_round_goes_at_once_when_nobody_can_be_phoned(self):
        route(self.acme, "high", "after_round")
        self.all_sent(self.ask())  # no telephony provider: the round is over before it began

    def test_what_the_policy_decides_at_once_is_never_sent(self):
        handoff = self.ask(action="test.run")
        self.assertEqual(handoff.status, Status.APPROVED)
        self.assertFalse(ChatMessage.objects.exists())

    def test_people_not_on_call_unlinked_deactivated_or_viewers_get_nothing(self):
        Membership.objects.filter(pk=self.alice_m.pk).update(oncall_order=None)
        Membership.objects.filter(pk=self.bob_m.pk).update(telegram_chat_id="")
        handoff = self.ask()
        self.all_sent(handoff, count=1)
        self.assertEqual(
            list(ChatMessage.objects.filter(handoff=handoff).values_list("service", flat=True)),
            ["slack"],
        )
        self.bob_m.user.is_active = False
        self.bob_m.user.save()
        self.assertFalse(ChatMessage.objects.filter(handoff=self.ask()).exists())

    def test_a_service_not_configured_is_not_used(self):
        with self.settings(TELEGRAM_BOT_TOKEN=""):
            handoff = self.ask()
            self.all_sent(handoff, count=2)
        self.assertEqual(
            set(ChatMessage.objects.filter(handoff=handoff).values_list("service", flat=True)),
            {"slack"},
        )

    def test_expiry_and_cancellation_show_in_the_messages(self):
        expired, cancelled = self.ask(), self.ask(target="billing-db")
        self.all_sent(expired)
        self.all_sent(cancelled)
        handoffs.decide(expired, "deny", via="deadline", actor=SYSTEM)
        handoffs.cancel(self.laptop.device, cancelled)
        self.settle()
        texts = [e["text"] for e in self.telegram.called("editMessageText")]
        self.assertEqual(sum("Expired: nobody decided in time" in t for t in texts), 2)
        self.assertEqual(sum("Cancelled by the agent." in t for t in texts), 2)
        self.assertEqual(ChatMessage.objects.filter(status=MessageStatus.CLOSED).count(), 8)

    def test_a_temporary_failure_is_tried_again(self):
        self.slack.failures.append((500, {"ok": False, "error": "internal_error"}))
        self.telegram.failures.append(
            (
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests",
                    "parameters": {"retry_after": 1},
                },
            )
        )
        handoff = self.ask()
        self.all_sent(handoff)
        self.assertEqual(len(self.slack.called("chat.postMessage")), 3)  # one failed, tried again
        self.assertEqual(len(self.telegram.called("sendMessage")), 3)

    def test_someone_who_blocked_the_bot_is_skipped_and_the_rest_are_reached(self):
        self.telegram.blocked.add(BOB_TELEGRAM)
        self.slack.unreachable.add(ALICE_SLACK)
        with self.assertLogs("chat.services", "ERROR") as logged:
            handoff = self.ask()
            self.all_sent(handoff, count=2)
            until(
                lambda: ChatMessage.objects.filter(status=MessageStatus.FAILED).count() == 2,
                WAIT,
                "the two failures",
            )
        # Who, by pseudonym; never a chat id, never a token.
        for line in logged.output:
            for secret in (BOB_TELEGRAM, ALICE_SLACK, "xoxb-", "AAHdqTcv"):
                self.assertNotIn(secret, line)
        failed = ChatMessage.objects.filter(handoff=handoff, status=MessageStatus.FAILED)
        self.assertEqual(
            sorted((m.member_id, m.service) for m in failed),
            sorted([(self.alice_m.pk, "slack"), (self.bob_m.pk, "telegram")]),
        )
        self.assertEqual(len(self.telegram.sent_to(BOB_TELEGRAM)), 1)  # not retried
        self.assertEqual(len(self.slack.messages_to(ALICE_SLACK)), 1)

    def test_the_handoff_page_lists_the_messages(self):
        handoff = self.ask()
        self.all_sent(handoff)
        page = self.client_for_alice().get(f"/admin/handoffs/handoff/{handoff.pk}/change/")
        self.assertContains(page, 'id="chat-messages"')
        self.assertContains(page, "Telegram")
        self.assertNotContains(page, ALICE_TELEGRAM)  # chat ids stay out of pages too
        self.assertNotContains(page, BOB_SLACK)

    def client_for_alice(self):
        return verified_client(self.alice_m.user)


class RoutingWithCallsTests(ChatLiveTestCase):
    phone = True

    def test_with_the_call_both_ring_and_a_keypad_decision_shows_in_chat(self):
        self.ask()
        call = self.ringing("+14155550001")
        handoff = self.handoff()
        self.all_sent(handoff)
        simulator.answer(call.sid)
        simulator.press(call.sid, "2")
        until(lambda: self.handoff().status == Status.DENIED, WAIT, "the keypad's decision")
        self.settle()
        for update in self.slack.called("chat.update"):
            self.assertIn("Denied by alice by phone.", str(update["blocks"]))

    def test_after_a_round_waits_for_the_calls_to_go_unanswered(self):
        route(self.acme, "high", "after_round")
        self.ask()
        simulator.no_answer(self.ringing("+14155550001").sid)
        handoff = self.handoff()
        self.assertFalse(ChatMessage.objects.filter(handoff=handoff).exists())
        simulator.no_answer(self.ringing("+14155550002").sid)  # the end of the first round
        self.all_sent(handoff)
        self.assertEqual(CallAttempt.objects.filter(handoff=handoff, round=1).count(), 1)

    def test_a_chat_decision_hangs_up_the_call(self):
        self.ask()
        call = self.ringing("+14155550001")
        handoff = self.handoff()
        self.all_sent(handoff)
        message = self.slack_message_to(BOB_SLACK)
        post_to_slack_url(self.webhooks, slack_click(message, BOB_SLACK, "Approve"))
        until(lambda: call.status in ("canceled", "completed"), WAIT, "the call to end")
        self.assertEqual(self.handoff().decided_via, "slack")

    def ringing(self, phone: str):
        until(lambda: bool(simulator.ringing(to=phone)), WAIT, f"a call to {phone}")
        return simulator.ringing(to=phone)[0]


class RobustnessTests(ChatTestCase):
    def test_an_answer_that_is_not_http_is_a_temporary_failure(self):
        self.slack.garbage += [
            b"garbage\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{",
        ]
        handoff = self.ask()
        self.all_sent(handoff)
        self.assertEqual(len(self.slack.called("chat.postMessage")), 2)  # the two that got answers

    def test_a_message_is_sent_once_whatever_runs_its_task_twice(self):
        route(self.acme, "high", "off")
        handoff = self.ask()
        message = ChatMessage.objects.create(
            org=self.acme,
            handoff=handoff,
            member=self.bob_m,
            service="slack",
            recipient=BOB_SLACK,
        )
        self.assertEqual(chat_services.post(message.pk), "sent")
        self.assertEqual(chat_services.post(message.pk), "skipped")
        self.assertEqual(len(self.slack.messages_to(BOB_SLACK)), 1)

    def test_agent_text_cannot_pass_for_onys_facts(self):
        self.ask(
            target="orders-db\nRisk: low\u202e\nDecide by: 23:59",
            title="   ",
        )
        message = self.slack_message_to(BOB_SLACK)
        fields = [f["text"] for f in message["blocks"][1]["fields"]]
        self.assertIn("Target: orders-db Risk: low Decide by: 23:59", fields)
        self.assertEqual([f for f in fields if f.startswith("Risk:")], ["Risk: high"])
        self.assertEqual(message["blocks"][3]["text"]["text"], "(no title)")  # never empty
        sent = self.telegram_message_to(BOB_TELEGRAM)
        lines = sent["text"].splitlines()
        self.assertEqual([line for line in lines if line.startswith("Risk:")], ["Risk: high"])

    def test_the_notification_text_cannot_mention_or_link(self):
        self.ask(target="<!channel> <https://evil.example|Open in Ony>")
        message = self.slack_message_to(BOB_SLACK)
        self.assertNotIn("<!channel>", message["text"])
        self.assertIn("&lt;!channel&gt;", message["text"])
