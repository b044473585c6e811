"""Approving in Slack: a direct message with buttons, a signed interaction, a signed verdict."""

from __future__ import annotations

import time

from audit.models import AuditEntry
from chat import linking
from handoffs import services as handoffs
from handoffs.models import Handoff, Status
from ony import services as org_services
from tests.chat import (
    ALICE_SLACK,
    BOB_SLACK,
    CAROL_SLACK,
    SLACK_SECRET,
    STRANGER_SLACK,
    WAIT,
    ChatLiveTestCase,
    ChatTestCase,
    post_to_slack_url,
    slack_click,
    slack_code_submission,
)
from tests.servers import until


class SlackApprovalTests(ChatTestCase):
    def test_a_click_approves_with_a_signed_verdict_and_every_message_shows_it(self):
        handoff = self.ask(target="orders-db", title="Add the invoices table")
        # All four out before the click: a message still on its way once the handoff
        # is decided is skipped (sent once, and never about a decided request).
        self.all_sent(handoff)
        message = self.slack_message_to(BOB_SLACK)
        self.slack_message_to(ALICE_SLACK)
        self.assertEqual(self.slack.messages_to(CAROL_SLACK), [])  # viewers are never asked

        shown = str(message["blocks"])
        for fact in (
            "build-laptop",
            "db.migrate",
            "orders-db",
            "Risk: high",
            "Add the invoices table",
        ):
            self.assertIn(fact, shown)
        self.assertIn("The agent's description, in its own words:", shown)
        # The agent's words are plain text: they cannot format, link or mention.
        agent_block = message["blocks"][3]
        self.assertEqual(agent_block["text"]["type"], "plain_text")

        response = post_to_slack_url(self.webhooks, slack_click(message, BOB_SLACK, "Approve"))
        self.assertEqual(response.status_code, 200)
        handoff.refresh_from_db()
        self.assertEqual((handoff.status, handoff.decided_by), (Status.APPROVED, self.bob_m))
        self.assertEqual(handoff.verdict["decided_via"], "slack")
        self.assertTrue(handoff.verdict["signature"])
        # Every message about it now shows the outcome, without buttons.
        updates = self.slack.wait_for("chat.update", 2)
        for update in updates:
            self.assertIn("Approved by Bob Builder in Slack.", str(update["blocks"]))
            self.assertNotIn("actions", [block["type"] for block in update["blocks"]])
        # The Telegram messages go out beside these, through the worker: all four sent.
        until(
            lambda: sum(e == "chat.sent" for e, _, _ in self.chat_events(handoff)) == 4,
            WAIT,
            "every message to be sent",
        )
        events = self.chat_events(handoff)
        sent = sorted((d["service"], d["member"]) for e, _, d in events if e == "chat.sent")
        people = sorted([self.alice_m.public_id, self.bob_m.public_id])
        self.assertEqual(sent, [("slack", p) for p in people] + [("telegram", p) for p in people])
        clicked = [(a, d) for e, a, d in events if e == "chat.clicked"]
        accepted = {"service": "slack", "decision": "approve", "outcome": "accepted"}
        self.assertEqual(clicked, [(self.bob_m.public_id, accepted)])
        self.assertNotIn(BOB_SLACK, str(events))  # chat ids never reach the chain

    def test_deny_denies(self):
        handoff = self.ask()
        message = self.slack_message_to(ALICE_SLACK)
        post_to_slack_url(self.webhooks, slack_click(message, ALICE_SLACK, "Deny"))
        handoff.refresh_from_db()
        self.assertEqual((handoff.status, handoff.decided_by), (Status.DENIED, self.alice_m))
        self.assertEqual(handoff.verdict["decided_via"], "slack")

    def test_critical_needs_the_code_in_a_dialog(self):
        handoff = self.ask(action="deploy.production", target="prod-api", title="Ship it")
        message = self.slack_message_to(BOB_SLACK)
        self.assertIn("authenticator code", str(message["blocks"]))

        click = slack_click(message, BOB_SLACK, "Approve")
        self.assertEqual(post_to_slack_url(self.webhooks, click).status_code, 200)
        [opened] = self.slack.wait_for("views.open")
        self.assertEqual(opened["trigger_id"], click["trigger_id"])
        handoff.refresh_from_db()
        self.assertEqual(handoff.status, Status.PENDING)  # a click alone never approves critical

        wrong = slack_code_submission(opened["view"], BOB_SLACK, self.wrong_code_of(self.bob_m))
        reply = post_to_slack_url(self.webhooks, wrong).json()
        self.assertEqual(reply["response_action"], "errors")
        self.assertIn("not valid", str(reply["errors"]))
        handoff.refresh_from_db()
        self.assertEqual(handoff.status, Status.PENDING)
        failed = AuditEntry.objects.for_org(self.acme).filter(event="otp.failed")
        self.assertEqual(list(failed.values_list("actor", flat=True)), [self.bob_m.public_id])

        self.typing_takes_a_while(self.bob_m)
        right = slack_code_submission(opened["view"], BOB_SLACK, self.code_of(self.bob_m))
        reply = post_to_slack_url(self.webhooks, right).json()
        self.assertEqual(reply, {"response_action": "clear"})
        handoff.refresh_from_db()
        self.assertEqual((handoff.status, handoff.decided_by), (Status.APPROVED, self.bob_m))
        self.assertEqual(handoff.verdict["decided_via"], "slack")

    def test_a_code_works_once(self):
        self.ask(action="deploy.production", target="prod-api")
        first = self.slack_message_to(BOB_SLACK)
        self.ask(action="deploy.production", target="prod-db")
        until(lambda: len(self.slack.messages_to(BOB_SLACK)) == 2, WAIT, "the second message")
        second = self.slack.messages_to(BOB_SLACK)[-1]
        code = self.code_of(self.bob_m)
        dialogs = []
        for message in (first, second):
            post_to_slack_url(self.webhooks, slack_click(message, BOB_SLACK, "Approve"))
            dialogs.append(self.slack.wait_for("views.open", len(dialogs) + 1)[-1]["view"])
        used = post_to_slack_url(self.webhooks, slack_code_submission(dialogs[0], BOB_SLACK, code))
        self.assertEqual(used.json(), {"response_action": "clear"})
        again = post_to_slack_url(self.webhooks, slack_code_submission(dialogs[1], BOB_SLACK, code))
        self.assertEqual(again.json()["response_action"], "errors")
        statuses = list(Handoff.objects.order_by("pk").values_list("status", flat=True))
        self.assertEqual(statuses, [Status.APPROVED, Status.PENDING])


class SlackRefusalTests(ChatTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.all_sent(self.ask())
        self.message = self.slack_message_to(BOB_SLACK)
        self.click = slack_click(self.message, BOB_SLACK, "Approve")

    def assertStillPending(self) -> None:
        self.assertEqual(self.handoff().status, Status.PENDING)

    def test_a_wrong_or_missing_signature_is_refused_before_anything_is_read(self):
        for kwargs in (
            {"secret": "not-the-secret"},
            {"signature": "v0=" + "0" * 64},
            {"signature": "v1=nonsense"},
            {"signature": "v0=\u00e9" * 3},
        ):
            with self.subTest(kwargs):
                response = post_to_slack_url(self.webhooks, self.click, **kwargs)
                self.assertEqual(response.status_code, 403)
                self.assertEqual(response.json()["code"], "invalid_signature")
        self.assertStillPending()

    def test_a_stale_or_odd_timestamp_is_refused(self):
        for stamp in (int(time.time()) - 6 * 60, int(time.time()) + 6 * 60):
            with self.subTest(stamp):
                response = post_to_slack_url(self.webhooks, self.click, timestamp=stamp)
                self.assertEqual(response.status_code, 403)
        response = self.webhooks.post(
            "/chat/slack/interactions",
            "payload=%7B%7D",
            content_type="application/x-www-form-urlencoded",
            HTTP_X_SLACK_REQUEST_TIMESTAMP="soon",
            HTTP_X_SLACK_SIGNATURE="v0=" + "0" * 64,
        )
        self.assertEqual(response.status_code, 403)
        self.assertStillPending()

    def test_a_replayed_interaction_changes_nothing(self):
        stamp = int(time.time())
        deny = slack_click(self.message, BOB_SLACK, "Deny")
        first = post_to_slack_url(self.webhooks, deny, timestamp=stamp)
        self.assertEqual(first.status_code, 200)
        again = post_to_slack_url(self.webhooks, deny, timestamp=stamp)
        self.assertEqual((again.status_code, again.json()["code"]), (409, "replayed"))
        clicked = [d for e, _, d in self.chat_events(self.handoff()) if e == "chat.clicked"]
        self.assertEqual([d["decision"] for d in clicked], ["deny"])

    def test_a_click_by_anyone_else_is_refused_and_audited(self):
        for stranger in (
            STRANGER_SLACK,
            ALICE_SLACK,
            CAROL_SLACK,
        ):  # Alice has a message of her own
            with self.subTest(stranger):
                response = post_to_slack_url(
                    self.webhooks, slack_click(self.message, stranger, "Approve")
                )
                self.assertEqual(
                    (response.status_code, response.json()["code"]), (403, "not_yours")
                )
        self.assertStillPending()
        refused = [d for e, a, d in self.chat_events(self.handoff()) if e == "chat.clicked"]
        self.assertEqual([d["outcome"] for d in refused], ["not_yours"] * 3)

    def test_a_member_who_unlinked_or_was_demoted_decides_nothing_here(self):
        linking.unlink(self.bob_m, "slack", actor=self.bob_m.public_id)
        response = post_to_slack_url(self.webhooks, self.click)
        self.assertEqual(response.json()["code"], "not_yours")
        self.assertStillPending()

        alice_message = self.slack_message_to(ALICE_SLACK)
        org_services.update_member(self.carol_m, actor="system", role="admin")  # someone must be
        org_services.update_member(self.alice_m, actor="system", role="viewer")
        response = post_to_slack_url(
            self.webhooks, slack_click(alice_message, ALICE_SLACK, "Approve")
        )
        self.assertEqual(
            (response.status_code, response.json()["code"]), (403, "permission_denied")
        )
        self.assertStillPending()

    def test_a_click_after_a_decision_elsewhere_changes_nothing_and_shows_the_outcome(self):
        handoff = self.handoff()
        handoffs.decide_as_member(self.alice_m.user, handoff, "deny", via="dashboard")
        self.slack.wait_for("chat.update", 2)
        response = post_to_slack_url(self.webhooks, self.click)
        self.assertEqual((response.status_code, response.json()["code"]), (409, "already_decided"))
        self.assertIn("Denied by", response.json()["detail"])
        handoff.refresh_from_db()
        self.assertEqual((handoff.status, handoff.decided_via), (Status.DENIED, "dashboard"))
        for update in self.slack.called("chat.update"):
            self.assertIn("in the dashboard", str(update["blocks"]))

    def test_malformed_payloads_get_a_4xx(self):
        bad = [
            "not json",
            "[]",
            '{"type": "block_actions"}',
            '{"type": "shortcut"}',
            '{"type": "block_actions", "user": {"id": "U\\u0000"}, "actions": []}',
            '{"type": "view_submission", "user": {"id": "UBOB00002"}, "view": {}}',
            "[" * 5000 + "]" * 5000,
            '{"type": "block_actions", "user": {"id": "\\ud800"}, "trigger_id": "x",'
            ' "actions": [{"action_id": "ony_approve", "value": "\\ud800"}]}',
        ]
        for payload in bad:
            with self.subTest(payload[:40]):
                response = post_to_slack_url(self.webhooks, payload)
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn(
                    response.json()["code"], {"invalid_payload", "unsupported_interaction"}
                )
        self.assertStillPending()

    def test_wrong_methods_and_switched_off_slack_are_refused(self):
        self.assertEqual(self.webhooks.get("/chat/slack/interactions").status_code, 405)
        with self.settings(SLACK_SIGNING_SECRET=""):
            response = post_to_slack_url(self.webhooks, self.click, secret=SLACK_SECRET)
            self.assertEqual((response.status_code, response.json()["code"]), (404, "chat_off"))
        self.assertStillPending()


class SlackEndToEndTests(ChatLiveTestCase):
    def test_a_waiting_agent_gets_the_verdict_of_a_click(self):
        asking = self.ask_and_wait()
        message = self.slack_message_to(BOB_SLACK)
        post_to_slack_url(self.webhooks, slack_click(message, BOB_SLACK, "Approve"))
        outcome = asking.outcome()
        self.assertTrue(outcome.approved, outcome)
        self.assertEqual(outcome.verdict["decided_via"], "slack")
        self.assertEqual(self.handoff().decided_by, self.bob_m)


class SlackDownTests(ChatTestCase):
    def test_a_dialog_slack_cannot_open_is_a_502_and_approves_nothing(self):
        handoff = self.ask(action="deploy.production", target="prod-api")
        self.all_sent(handoff)
        message = self.slack_message_to(BOB_SLACK)
        self.slack.garbage.append(b"garbage\r\n\r\n")
        response = post_to_slack_url(self.webhooks, slack_click(message, BOB_SLACK, "Approve"))
        self.assertEqual((response.status_code, response.json()["code"]), (502, "chat_unavailable"))
        handoff.refresh_from_db()
        self.assertEqual(handoff.status, Status.PENDING)
