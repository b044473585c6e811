"""Approving in Telegram: a message with an inline keyboard, updates with the secret token."""

from __future__ import annotations

import json

from audit.models import AuditEntry
from chat.models import ChatMessage
from handoffs import services as handoffs
from handoffs.models import Status
from tests.chat import (
    ALICE_TELEGRAM,
    BOB_TELEGRAM,
    CAROL_TELEGRAM,
    STRANGER_TELEGRAM,
    ChatLiveTestCase,
    ChatTestCase,
    post_to_telegram_url,
    telegram_message,
    telegram_press,
)


class TelegramApprovalTests(ChatTestCase):
    def test_a_press_approves_with_a_signed_verdict_and_every_message_shows_it(self):
        handoff = self.ask(target="orders-db", title="Add the <b>invoices</b> table")
        sent = self.telegram_message_to(BOB_TELEGRAM)
        self.telegram_message_to(ALICE_TELEGRAM)
        self.assertEqual(self.telegram.sent_to(CAROL_TELEGRAM), [])  # viewers are never asked
        self.assertEqual(sent["parse_mode"], "HTML")
        for fact in ("build-laptop", "db.migrate", "orders-db", "Risk: high"):
            self.assertIn(fact, sent["text"])
        self.assertIn(
            "<blockquote>Add the &lt;b&gt;invoices&lt;/b&gt; table</blockquote>", sent["text"]
        )
        [row] = sent["reply_markup"]["inline_keyboard"]
        for button in row:  # an unguessable code per message, no ids, within 64 bytes
            self.assertRegex(button["callback_data"], r"^[ad]:[A-Za-z0-9_-]{22}$")
            self.assertNotIn(handoff.public_id, button["callback_data"])

        response = post_to_telegram_url(
            self.webhooks, telegram_press(sent, BOB_TELEGRAM, "Approve")
        )
        self.assertEqual(response.json(), {"ok": True, "code": "Approved."})
        handoff.refresh_from_db()
        self.assertEqual((handoff.status, handoff.decided_by), (Status.APPROVED, self.bob_m))
        self.assertEqual(handoff.verdict["decided_via"], "telegram")
        [answer] = self.telegram.called("answerCallbackQuery")
        self.assertEqual(answer["text"], "Approved.")

        edits = self.telegram.wait_for("editMessageText", 2)
        for edit in edits:
            self.assertIn("Approved by Bob Builder in Telegram.", edit["text"])
            self.assertNotIn("reply_markup", edit)
        clicked = [d for e, _, d in self.chat_events(handoff) if e == "chat.clicked"]
        self.assertEqual(
            clicked, [{"service": "telegram", "decision": "approve", "outcome": "accepted"}]
        )
        self.assertNotIn(BOB_TELEGRAM, str(self.chat_events(handoff)))

    def test_critical_asks_for_the_code_as_a_reply_and_deletes_it(self):
        handoff = self.ask(action="deploy.production", target="prod-api")
        sent = self.telegram_message_to(BOB_TELEGRAM)
        post_to_telegram_url(self.webhooks, telegram_press(sent, BOB_TELEGRAM, "Approve"))
        handoff.refresh_from_db()
        self.assertEqual(handoff.status, Status.PENDING)  # a press alone never approves critical
        question = [m for m in self.telegram.sent_to(BOB_TELEGRAM) if "force_reply" in str(m)]
        self.assertEqual(len(question), 1)
        self.assertTrue(question[0]["reply_markup"]["force_reply"])
        prompt_id = int(self.chat_prompt_of(handoff, self.bob_m))

        wrong = telegram_message(
            BOB_TELEGRAM, BOB_TELEGRAM, self.wrong_code_of(self.bob_m), reply_to=prompt_id
        )
        response = post_to_telegram_url(self.webhooks, wrong)
        self.assertEqual(response.json()["code"], "invalid_otp")
        deleted = [d["message_id"] for d in self.telegram.called("deleteMessage")]
        self.assertEqual(deleted, [wrong["message"]["message_id"]])
        handoff.refresh_from_db()
        self.assertEqual(handoff.status, Status.PENDING)
        self.assertTrue(AuditEntry.objects.for_org(self.acme).filter(event="otp.failed").exists())

        self.typing_takes_a_while(self.bob_m)
        right = telegram_message(
            BOB_TELEGRAM, BOB_TELEGRAM, self.code_of(self.bob_m), reply_to=prompt_id
        )
        self.assertEqual(post_to_telegram_url(self.webhooks, right).json()["code"], "approved")
        deleted = [d["message_id"] for d in self.telegram.called("deleteMessage")]
        self.assertIn(right["message"]["message_id"], deleted)
        handoff.refresh_from_db()
        self.assertEqual((handoff.status, handoff.decided_via), (Status.APPROVED, "telegram"))

    def test_a_reply_from_anyone_else_or_to_something_else_changes_nothing(self):
        handoff = self.ask(action="deploy.production", target="prod-api")
        sent = self.telegram_message_to(BOB_TELEGRAM)
        post_to_telegram_url(self.webhooks, telegram_press(sent, BOB_TELEGRAM, "Approve"))
        prompt_id = int(self.chat_prompt_of(handoff, self.bob_m))
        code = self.code_of(self.bob_m)
        for update in (
            telegram_message(BOB_TELEGRAM, STRANGER_TELEGRAM, code, reply_to=prompt_id),
            telegram_message(ALICE_TELEGRAM, ALICE_TELEGRAM, code, reply_to=prompt_id),
            telegram_message(BOB_TELEGRAM, BOB_TELEGRAM, code, reply_to=prompt_id + 1),
            telegram_message(BOB_TELEGRAM, BOB_TELEGRAM, code),  # not a reply at all
        ):
            with self.subTest(update["message"]["from"]["id"]):
                self.assertEqual(post_to_telegram_url(self.webhooks, update).status_code, 200)
        handoff.refresh_from_db()
        self.assertEqual(handoff.status, Status.PENDING)

    def chat_prompt_of(self, handoff, member) -> str:
        return ChatMessage.objects.get(
            handoff=handoff, member=member, service="telegram"
        ).prompt_ref


class TelegramRefusalTests(ChatTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.all_sent(self.ask())
        self.sent = self.telegram_message_to(BOB_TELEGRAM)
        self.press = telegram_press(self.sent, BOB_TELEGRAM, "Approve")

    def assertStillPending(self) -> None:
        self.assertEqual(self.handoff().status, Status.PENDING)

    def test_a_missing_or_wrong_secret_is_refused_before_anything_is_read(self):
        for secret in (None, "", "wrong", "ony-telegram-webhook-secret_4", "\u00e9" * 10):
            with self.subTest(secret):
                response = post_to_telegram_url(self.webhooks, self.press, secret=secret)
                self.assertEqual(
                    (response.status_code, response.json()["code"]), (403, "invalid_secret")
                )
        self.assertStillPending()
        self.assertEqual(self.telegram.called("answerCallbackQuery"), [])

    def test_a_press_by_anyone_else_is_refused_audited_and_explained(self):
        for stranger in (STRANGER_TELEGRAM, ALICE_TELEGRAM, CAROL_TELEGRAM):
            with self.subTest(stranger):
                response = post_to_telegram_url(
                    self.webhooks, telegram_press(self.sent, stranger, "Approve")
                )
                self.assertEqual(response.status_code, 200)
        self.assertStillPending()
        answers = [a["text"] for a in self.telegram.called("answerCallbackQuery")]
        self.assertEqual(answers, ["Only the person this request was sent to can decide it."] * 3)
        refused = [
            d["outcome"] for e, _, d in self.chat_events(self.handoff()) if e == "chat.clicked"
        ]
        self.assertEqual(refused, ["not_yours"] * 3)

    def test_a_replayed_update_changes_nothing(self):
        deny = telegram_press(self.sent, BOB_TELEGRAM, "Deny")
        self.assertEqual(post_to_telegram_url(self.webhooks, deny).json()["code"], "Denied.")
        again = post_to_telegram_url(self.webhooks, deny)
        self.assertEqual(again.json(), {"ok": True, "code": "duplicate"})
        clicked = [d for e, _, d in self.chat_events(self.handoff()) if e == "chat.clicked"]
        self.assertEqual(len(clicked), 1)

    def test_a_press_after_a_decision_elsewhere_changes_nothing_and_says_so(self):
        handoff = self.handoff()
        handoffs.decide_as_member(self.alice_m.user, handoff, "approve", via="api")
        self.telegram.wait_for("editMessageText", 2)
        response = post_to_telegram_url(self.webhooks, self.press)
        self.assertIn("Already decided: Approved by", response.json()["code"])
        handoff.refresh_from_db()
        self.assertEqual((handoff.decided_via, handoff.decided_by), ("api", self.alice_m))
        for edit in self.telegram.called("editMessageText"):
            self.assertIn("through the API", edit["text"])

    def test_malformed_updates_get_a_4xx(self):
        for body in (
            "not json",
            "[]",
            "{}",
            '{"update_id": "x"}',
            '{"update_id": 1, "callback_query": {"id": "1", "from": {"id": 1}, "data": "a:short"}}',
            '{"update_id": 2, "message": {"message_id": 1, "chat": {"id": "\\ud800"}}}',
            "[" * 5000 + "]" * 5000,
            json.dumps(
                {
                    "update_id": 3,
                    "message": {
                        "message_id": 1,
                        "chat": {"id": 1, "type": "private"},
                        "text": "\x00",
                    },
                }
            ),
        ):
            with self.subTest(body[:40]):
                response = post_to_telegram_url(self.webhooks, body)
                self.assertIn(response.status_code, (200, 400), response.content)
                if response.status_code == 400:
                    self.assertEqual(response.json()["code"], "invalid_payload")
        self.assertStillPending()
        bad = post_to_telegram_url(self.webhooks, b"\xff\xfe".decode("latin-1"))
        self.assertEqual(bad.status_code, 400)

    def test_switched_off_telegram_is_refused(self):
        self.assertEqual(self.webhooks.get("/chat/telegram/webhook").status_code, 405)
        with self.settings(TELEGRAM_WEBHOOK_SECRET=""):
            response = post_to_telegram_url(self.webhooks, self.press)
            self.assertEqual((response.status_code, response.json()["code"]), (404, "chat_off"))
        self.assertStillPending()


class TelegramEndToEndTests(ChatLiveTestCase):
    def test_a_waiting_agent_gets_the_verdict_of_a_press(self):
        asking = self.ask_and_wait()
        sent = self.telegram_message_to(ALICE_TELEGRAM)
        post_to_telegram_url(self.webhooks, telegram_press(sent, ALICE_TELEGRAM, "Approve"))
        outcome = asking.outcome()
        self.assertTrue(outcome.approved, outcome)
        self.assertEqual(outcome.verdict["decided_via"], "telegram")
        self.assertEqual(self.handoff().decided_by, self.alice_m)
