"""Chat messages about handoffs: who gets one, sending them, and showing the outcome.

A handoff that goes to people reaches the on-call members who linked Slack
or Telegram, when the org's chat route for its risk says so: with the first
call, or once a full round of calls went unanswered (``people_unreached``).
Each message is sent by a task of its own, with retries; when the handoff is
decided (on any channel, or by its deadline) every message is edited to the
outcome and loses its buttons. What people answer is ``chat.answers``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.events import SYSTEM, Event
from chat import slack, telegram, texts
from chat.errors import ChatError, TemporaryError
from chat.models import ChatLink, ChatMessage, MessageStatus, Service
from handoffs import services as handoffs
from handoffs.models import Handoff, Status
from ony.models import Membership
from ony.models.org import ChatRoute
from ony.queue import enqueue
from ony.roles import DECIDE

logger = logging.getLogger(__name__)

#: Seconds before each new try of a send or an edit the service failed (temporarily).
RETRY_DELAYS = (2, 10, 30)


class Recipient(NamedTuple):
    member: Membership
    service: str
    chat_id: str


def configured_services() -> list[str]:
    return [
        service
        for service, on in (
            (Service.SLACK, slack.configured()),
            (Service.TELEGRAM, telegram.configured()),
        )
        if on
    ]


def linked_id(member: Membership, service: str) -> str:
    """The member's linked chat user id on ``service`` ("" when not linked)."""
    return member.slack_user_id if service == Service.SLACK else member.telegram_chat_id


def recipients(handoff: Handoff) -> list[Recipient]:
    """The on-call members who may decide and linked a configured service, in call order."""
    services = configured_services()
    if not services:
        return []
    members = Membership.objects.for_org(handoff.org_id).on_call().select_related("user")
    found = []
    for member in members:
        if member.role not in DECIDE or not member.user.is_active:
            continue
        for service in services:
            if chat_id := linked_id(member, service):
                found.append(Recipient(member, service, chat_id))
    return found


def on_routed(handoff: Handoff) -> None:
    """A handoff went to people: message them now if the org's route says so."""
    if handoff.org.chat_route(handoff.risk) == ChatRoute.WITH_CALL:
        enqueue("chat.send_messages", handoff.pk)


def on_unreached(handoff: Handoff) -> None:
    """Nobody answered the calls (or nobody could be called): message whoever is not yet."""
    if handoff.org.chat_route(handoff.risk) != ChatRoute.OFF:
        enqueue("chat.send_messages", handoff.pk)


def send_messages(handoff_id: int) -> int:
    """Create a message for each recipient not yet messaged about the handoff, and send them.

    Nothing for a handoff no longer pending. Returns how many were created.
    """
    with transaction.atomic():
        handoff = handoffs.locked_if_waiting(handoff_id)
        if handoff is None:
            return 0
        done = set(ChatMessage.objects.for_handoff(handoff).values_list("member_id", "service"))
        created = 0
        for recipient in recipients(handoff):
            if (recipient.member.pk, recipient.service) in done:
                continue
            message = ChatMessage.objects.create(
                org=handoff.org,
                handoff=handoff,
                member=recipient.member,
                service=recipient.service,
                recipient=recipient.chat_id,
                # A Telegram private chat is the user's id; a Slack DM channel is
                # known once posted.
                channel=recipient.chat_id if recipient.service == Service.TELEGRAM else "",
            )
            enqueue("chat.post_message", message.pk, background=True)
            created += 1
    return created


def _message(message_id: int) -> ChatMessage | None:
    return (
        ChatMessage.objects.select_related(
            "org", "handoff", "handoff__org", "handoff__device", "member", "member__user"
        )
        .filter(pk=message_id)
        .first()
    )


def still_linked(message: ChatMessage) -> bool:
    """Whether the message's member still links the chat user it went to."""
    member = message.member
    return member is not None and linked_id(member, message.service) == message.recipient


def post(message_id: int) -> str:
    """Send message ``message_id``, once; the outcome of trying, as a word.

    The message is claimed first (``created`` to ``sending``), so a task run
    twice sends it once. Not sent once the handoff is decided, or when the
    member unlinked or may no longer decide. A temporary failure tries again
    later (a new task); anything else marks it failed. Audited as
    ``chat.sent`` once sent.
    """
    claimed = ChatMessage.objects.filter(pk=message_id, status=MessageStatus.CREATED).update(
        status=MessageStatus.SENDING
    )
    message = _message(message_id) if claimed else None
    if message is None:
        return "skipped"
    handoff = handoffs.expire_if_due(message.handoff)
    member = message.member
    allowed = member is not None and handoffs.deciding_member(member.pk, message.org_id)
    if handoff.status != Status.PENDING or not allowed or not still_linked(message):
        _set_status(message, MessageStatus.SKIPPED)
        return "skipped"
    assert member is not None
    try:
        channel, ref = _send(message)
    except ChatError as exc:
        return _retry_or_fail(message, exc, "chat.post_message", fail=MessageStatus.FAILED)
    with transaction.atomic():
        ChatMessage.objects.filter(pk=message.pk).update(
            status=MessageStatus.SENT,
            channel=channel,
            message_ref=ref,
            sent_at=timezone.now(),
            tries=0,
        )
        data = {"service": message.service, "member": member.public_id}
        audit.append(message.org, Event.CHAT_SENT, SYSTEM, handoff.public_id, data)
    if Handoff.objects.filter(pk=handoff.pk).exclude(status=Status.PENDING).exists():
        close(message.pk)  # decided while this was being sent: the close missed it
    return "sent"


def _send(message: ChatMessage) -> tuple[str, str]:
    if message.service == Service.SLACK:
        return slack.post_message(
            message.recipient,
            texts.slack_text(message),
            texts.slack_blocks(message, buttons=True),
        )
    buttons = [("Approve", f"a:{message.code}"), ("Deny", f"d:{message.code}")]
    ref = telegram.send_message(message.recipient, texts.telegram_html(message), buttons)
    return message.recipient, ref


def _retry_or_fail(message: ChatMessage, exc: ChatError, task: str, *, fail: str) -> str:
    tries = message.tries + 1
    ChatMessage.objects.filter(pk=message.pk).update(tries=tries)
    who = message.member.public_id if message.member else "a former member"
    if isinstance(exc, TemporaryError) and tries <= len(RETRY_DELAYS):
        logger.warning("%s for %s failed (%s); try %d", task, who, exc, tries + 1)
        if task == "chat.post_message":  # the next try claims it again
            _set_status(message, MessageStatus.CREATED)
        enqueue(task, message.pk, countdown=RETRY_DELAYS[tries - 1], background=True)
        return "retrying"
    logger.error("%s for %s failed: %s", task, who, exc)
    _set_status(message, fail)
    return "failed"


def _set_status(message: ChatMessage, status: str) -> None:
    closed = timezone.now() if status == MessageStatus.CLOSED else None
    ChatMessage.objects.filter(pk=message.pk).update(status=status, closed_at=closed)


def on_decided(handoff: Handoff) -> None:
    """The handoff left ``pending``: every sent message about it shows the outcome."""
    if ChatMessage.objects.for_handoff(handoff).filter(status=MessageStatus.SENT).exists():
        enqueue("chat.close_messages", handoff.pk)


def close_messages(handoff_id: int) -> int:
    """Enqueue the edit of each sent message about a decided handoff; returns how many."""
    handoff = Handoff.objects.filter(pk=handoff_id).first()
    if handoff is None or handoff.status == Status.PENDING:
        return 0
    sent = ChatMessage.objects.for_handoff(handoff).filter(status=MessageStatus.SENT)
    ids = list(sent.values_list("pk", flat=True))
    for message_id in ids:
        enqueue("chat.close_message", message_id, background=True)
    return len(ids)


def close(message_id: int) -> str:
    """Edit a sent message to its handoff's outcome, without buttons.

    No row lock across the network call: two closes at once edit it twice
    to the same text, which is harmless; the status says closed once.
    """
    message = _message(message_id)
    if message is None or message.status != MessageStatus.SENT:
        return "skipped"
    if message.handoff.status == Status.PENDING:
        return "pending"
    try:
        _edit_to_outcome(message)
    except ChatError as exc:
        return _retry_or_fail(message, exc, "chat.close_message", fail=MessageStatus.CLOSED)
    ChatMessage.objects.filter(pk=message.pk, status=MessageStatus.SENT).update(
        status=MessageStatus.CLOSED, closed_at=timezone.now()
    )
    return "closed"


def _edit_to_outcome(message: ChatMessage) -> None:
    if message.service == Service.SLACK:
        slack.update_message(
            message.channel,
            message.message_ref,
            texts.slack_text(message, closed=True),
            texts.slack_blocks(message, buttons=False),
        )
        return
    telegram.edit_message(
        message.channel, message.message_ref, texts.telegram_html(message, closed=True)
    )
    if message.prompt_ref:
        quietly(lambda: telegram.delete_message(message.channel, message.prompt_ref))


def quietly(call: Callable[[], object]) -> None:
    """Best effort: a cosmetic call that failed is logged, not retried."""
    try:
        call()
    except ChatError as exc:
        logger.warning("chat clean-up failed: %s", exc)


def forget_member(member: Membership) -> None:
    """Delete what chat holds about a member who leaves (removed or erased): pending
    links and the messages sent to their chat accounts (which name those
    accounts); the chain keeps ``chat.*`` entries, which never do."""
    ChatLink.objects.for_org(member.org_id).filter(member=member).delete()
    ChatMessage.objects.for_org(member.org_id).filter(member=member).delete()
