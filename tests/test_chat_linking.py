"""A member links their own Slack and Telegram accounts, and unlinks them; nobody else can."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from chat.models import ChatLink
from ony.models import Membership
from tests.base import verified_client
from tests.chat import (
    ALICE_TELEGRAM,
    BOB_TELEGRAM,
    TELEGRAM_SECRET,
    ChatTestCase,
    FakeTelegram,
    post_to_telegram_url,
    telegram_message,
)

PAGE = reverse("chat:accounts")
NEW_TELEGRAM = "2000002"
NEW_SLACK = "UNEW00042"


class TelegramLinkTests(ChatTestCase):
    def setUp(self) -> None:
        super().setUp()
        Membership.objects.filter(pk=self.bob_m.pk).update(slack_user_id="", telegram_chat_id="")
        self.bob = verified_client(self.bob_m.person)

    def deep_link(self) -> str:
        page = self.bob.post(
            PAGE, {"action": "telegram_link", "membership": self.bob_m.public_id}
        ).content.decode()
        found = re.search(r'id="telegram-link" href="([^"]+)"', page)
        assert found is not None, "the page shows the link"
        return found.group(1)

    def start(
        self, link: str, *, chat: str = NEW_TELEGRAM, sender: str = NEW_TELEGRAM, kind="private"
    ):
        token = link.split("?start=", 1)[1]
        update = telegram_message(chat, sender, f"/start {token}", chat_type=kind)
        return post_to_telegram_url(self.webhooks, update)

    def test_the_deep_link_links_whoever_starts_the_bot_with_it_once(self):
        link = self.deep_link()
        self.assertRegex(
            link, rf"^https://t\.me/{FakeTelegram.USERNAME}\?start=tg[A-Za-z0-9_-]{{32}}$"
        )
        self.assertEqual(self.start(link).json()["code"], "linked")
        self.bob_m.refresh_from_db()
        self.assertEqual(self.bob_m.telegram_chat_id, NEW_TELEGRAM)
        [reply] = self.telegram.sent_to(NEW_TELEGRAM)
        self.assertIn("Linked", reply["text"])
        entry = AuditEntry.objects.for_org(self.acme).get(event="chat.linked")
        self.assertEqual(
            (entry.actor, entry.subject, entry.data),
            (self.bob_m.public_id, self.bob_m.public_id, {"service": "telegram"}),
        )
        self.assertNotIn(NEW_TELEGRAM, entry.canonical)

        # Once: someone else with the same link links nothing.
        self.assertEqual(
            self.start(link, chat="3000003", sender="3000003").json()["code"], "refused"
        )
        self.bob_m.refresh_from_db()
        self.assertEqual(self.bob_m.telegram_chat_id, NEW_TELEGRAM)
        self.assertIn("Linked.", self.bob.get(PAGE).content.decode())

    def test_an_expired_link_a_group_chat_or_a_made_up_token_link_nothing(self):
        link = self.deep_link()
        self.assertEqual(
            self.start(link, chat="-100123", kind="supergroup").json()["code"], "ignored"
        )
        ChatLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        self.assertEqual(self.start(link).json()["code"], "refused")
        forged = link[:-4] + "AAAA"
        self.assertEqual(self.start(forged).json()["code"], "refused")
        self.bob_m.refresh_from_db()
        self.assertEqual(self.bob_m.telegram_chat_id, "")
        self.assertFalse(AuditEntry.objects.filter(event="chat.linked").exists())

    def test_a_newer_link_voids_the_older(self):
        old, new = self.deep_link(), self.deep_link()
        self.assertEqual(self.start(old).json()["code"], "refused")
        self.assertEqual(self.start(new).json()["code"], "linked")


class SlackLinkTests(ChatTestCase):
    def setUp(self) -> None:
        super().setUp()
        Membership.objects.filter(pk=self.bob_m.pk).update(slack_user_id="", telegram_chat_id="")
        self.bob = verified_client(self.bob_m.person)

    def send_code(self, user_id: str = NEW_SLACK):
        return self.bob.post(
            PAGE,
            {"action": "slack_send", "membership": self.bob_m.public_id, "user_id": user_id},
            follow=True,
        )

    def confirm(self, code: str):
        return self.bob.post(
            PAGE,
            {"action": "slack_confirm", "membership": self.bob_m.public_id, "code": code},
            follow=True,
        )

    def sent_code(self) -> str:
        [message] = self.slack.messages_to(NEW_SLACK)[-1:]
        found = re.search(r"Your Ony code is ([A-Z0-9]{4}-[A-Z0-9]{4})", message["text"])
        assert found is not None
        return found.group(1)

    def test_a_code_sent_to_the_slack_account_proves_it_is_theirs(self):
        self.assertContains(self.send_code(), "Ony sent you a code in Slack")
        code = self.sent_code()
        self.assertContains(self.confirm("WRONG-CODE"), "not the code Ony sent")
        self.bob_m.refresh_from_db()
        self.assertEqual(self.bob_m.slack_user_id, "")
        self.assertContains(self.confirm(code.lower()), "Slack is linked")
        self.bob_m.refresh_from_db()
        self.assertEqual(self.bob_m.slack_user_id, NEW_SLACK)
        entry = AuditEntry.objects.for_org(self.acme).get(event="chat.linked")
        self.assertEqual(entry.data, {"service": "slack"})
        self.assertNotIn(NEW_SLACK, entry.canonical)

    def test_five_wrong_codes_void_the_code(self):
        self.send_code()
        code = self.sent_code()
        for _ in range(5):
            self.confirm("AAAA-AAAA")
        self.assertContains(self.confirm(code), "No code is pending")
        self.bob_m.refresh_from_db()
        self.assertEqual(self.bob_m.slack_user_id, "")

    def test_a_bad_or_unknown_slack_id_is_explained(self):
        self.assertContains(self.send_code("bob"), "looks like U0123ABCD")
        self.slack.unreachable.add("UNOBODY01")
        self.assertContains(self.send_code("UNOBODY01"), "Slack has no member with that ID")
        self.assertFalse(ChatLink.objects.filter(used_at__isnull=True).exists())

    def test_codes_are_rate_limited(self):
        for _ in range(5):
            self.send_code()
        self.assertContains(self.send_code(), "Too many codes sent")
        self.assertEqual(len(self.slack.messages_to(NEW_SLACK)), 5)


class AccountPageTests(ChatTestCase):
    def test_unlinking_is_immediate_and_audited(self):
        alice = verified_client(self.alice_m.user)
        for service in ("slack", "telegram"):
            alice.post(
                PAGE, {"action": "unlink", "membership": self.alice_m.public_id, "service": service}
            )
        self.alice_m.refresh_from_db()
        self.assertEqual((self.alice_m.slack_user_id, self.alice_m.telegram_chat_id), ("", ""))
        unlinked = AuditEntry.objects.for_org(self.acme).filter(event="chat.unlinked")
        self.assertEqual(sorted(e.data["service"] for e in unlinked), ["slack", "telegram"])
        handoff = self.ask()
        self.all_sent(handoff, count=2)  # Bob's only
        self.assertEqual(self.slack.messages_to("UALICE001"), [])

    def test_nobody_acts_on_someone_elses_membership(self):
        bob = verified_client(self.bob_m.person)
        for action in ("unlink", "telegram_link", "slack_send"):
            with self.subTest(action):
                response = bob.post(
                    PAGE,
                    {
                        "action": action,
                        "membership": self.alice_m.public_id,
                        "service": "slack",
                        "user_id": NEW_SLACK,
                    },
                )
                self.assertEqual(response.status_code, 404)
        self.alice_m.refresh_from_db()
        self.assertEqual(self.alice_m.slack_user_id, "UALICE001")
        self.assertFalse(ChatLink.objects.exists())

    def test_an_admin_cannot_type_in_a_members_chat_ids(self):
        admin = verified_client(self.alice_m.user)
        url = reverse("admin:ony_membership_change", args=[self.bob_m.pk])
        page = admin.get(url)
        self.assertNotContains(page, 'name="slack_user_id"')
        self.assertNotContains(page, 'name="telegram_chat_id"')
        self.assertContains(page, "Linked")
        form = {"role": "member", "phone": "", "timezone": "", "oncall_order": 2}
        saved = admin.post(url, {**form, "slack_user_id": "UEVIL0001", "telegram_chat_id": "666"})
        self.assertEqual(saved.status_code, 302)  # saved, and the chat ids ignored
        self.bob_m.refresh_from_db()
        self.assertEqual(self.bob_m.slack_user_id, "UBOB00002")

    def test_the_page_needs_a_login_with_a_code(self):
        response = self.client.get(PAGE)
        self.assertEqual(response.status_code, 302)
        self.assertIn("/admin/login/", response["Location"])

    def test_it_says_when_no_chat_service_is_set_up(self):
        with self.settings(SLACK_BOT_TOKEN="", TELEGRAM_BOT_TOKEN=""):
            page = verified_client(self.bob_m.person).get(PAGE)
        self.assertContains(page, "Chat approvals are not set up on this server")


class TelegramWebhookCommandTests(ChatTestCase):
    def test_it_registers_the_webhook_with_the_secret(self):
        out = StringIO()
        call_command("telegram_set_webhook", stdout=out)
        [registered] = self.telegram.called("setWebhook")
        self.assertEqual(registered["url"], "http://testserver/chat/telegram/webhook")
        self.assertEqual(registered["secret_token"], TELEGRAM_SECRET)
        self.assertEqual(registered["allowed_updates"], ["message", "callback_query"])
        self.assertIn("http://testserver/chat/telegram/webhook", out.getvalue())
        self.assertNotIn(TELEGRAM_SECRET, out.getvalue())

    def test_it_says_what_is_missing_or_what_telegram_said(self):
        with (
            self.settings(TELEGRAM_WEBHOOK_SECRET=""),
            self.assertRaisesMessage(
                CommandError, "Set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET first."
            ),
        ):
            call_command("telegram_set_webhook")
        self.telegram.failures.append(
            (400, {"ok": False, "error_code": 400, "description": "Bad Request: bad webhook"})
        )
        with self.assertRaisesMessage(CommandError, "bad webhook"):
            call_command("telegram_set_webhook")


class OneAccountOnePersonTests(ChatTestCase):
    def test_an_account_linked_to_someone_in_the_org_cannot_be_linked_again(self):
        Membership.objects.filter(pk=self.bob_m.pk).update(telegram_chat_id="")
        bob = verified_client(self.bob_m.person)
        page = bob.post(
            PAGE, {"action": "telegram_link", "membership": self.bob_m.public_id}
        ).content.decode()
        found = re.search(r'id="telegram-link" href="[^"]+\?start=([^"]+)"', page)
        assert found is not None
        # Alice opens Bob's link in her own Telegram (already linked to her).
        update = telegram_message(ALICE_TELEGRAM, ALICE_TELEGRAM, f"/start {found.group(1)}")
        self.assertEqual(post_to_telegram_url(self.webhooks, update).json()["code"], "refused")
        self.bob_m.refresh_from_db()
        self.assertEqual(self.bob_m.telegram_chat_id, "")


class StrayCodeTests(ChatTestCase):
    def test_a_code_that_answers_no_question_is_deleted_and_explained(self):
        update = telegram_message(BOB_TELEGRAM, BOB_TELEGRAM, self.code_of(self.bob_m))
        self.assertEqual(post_to_telegram_url(self.webhooks, update).json()["code"], "stray_code")
        [deleted] = self.telegram.called("deleteMessage")
        self.assertEqual(deleted["message_id"], update["message"]["message_id"])
        self.assertIn("nothing was approved", self.telegram.sent_to(BOB_TELEGRAM)[-1]["text"])
