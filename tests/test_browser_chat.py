"""The chat accounts page and a handoff's chat section in a real browser, laptop and phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache

from audit.events import SYSTEM
from chat.models import ChatMessage
from ony import services
from ony.models import Membership
from tests.base import enroll_device, make_handoff
from tests.browser import page, screenshots  # noqa: F401  (fixture)
from tests.celery_worker import running_worker
from tests.chat import FakeSlack, FakeTelegram, chat_settings
from tests.servers import until
from tests.test_browser_dashboard import log_in
from tests.test_browser_handoffs import code_of, scrolls_sideways_at, team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def chat_services(settings):
    slack, telegram = FakeSlack(), FakeTelegram()
    for name, value in chat_settings(slack, telegram).items():
        setattr(settings, name, value)
    cache.clear()
    with running_worker():  # with Redis, the messages go out through a worker
        yield slack, telegram
    slack.close()
    telegram.close()


def test_a_member_links_telegram_and_sees_the_messages_on_a_handoffs_page(
    live_server,
    page,  # noqa: F811
    tmp_path: Path,
    chat_services,
    settings,
):
    settings.ONY_PUBLIC_URL = live_server.url
    slack, _ = chat_services
    acme, alice, _ = team()
    services.update_member(alice.memberships.get(), actor=SYSTEM, oncall_order=1)
    Membership.objects.filter(user=alice).update(slack_user_id="UALICE001")
    log_in(page, live_server, "alice@acme.test", code_of(alice))

    page.click("#chat-accounts-link")
    assert "Linked." in page.locator(f"#chat-{alice.memberships.get().public_id}").inner_text()
    page.click("input[value='Link Telegram']")
    link = page.locator("#telegram-link").get_attribute("href")
    assert link.startswith(f"https://t.me/{FakeTelegram.USERNAME}?start=tg")
    screenshots(page, tmp_path, "chat-accounts")
    assert not scrolls_sideways_at(page, 390)

    handoff = make_handoff(enroll_device(acme, "build-laptop").device, "db.migrate")
    until(lambda: ChatMessage.objects.filter(status="sent").exists(), 15, "the Slack message")
    page.goto(f"{live_server.url}/admin/handoffs/handoff/{handoff.pk}/change/")
    assert "Slack" in page.locator("#chat-messages").inner_text()
    assert "UALICE001" not in page.content()
    screenshots(page, tmp_path, "handoff-chat")
    assert not scrolls_sideways_at(page, 390)
    assert len(slack.messages_to("UALICE001")) == 1
