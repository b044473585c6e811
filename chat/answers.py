"""What people answer in chat: a button, a code, a link command.

An answer counts only from the chat user the message went to, while their
member still links that account and may decide (re-checked at the moment of
the decision, as on every channel). Anyone else's click is refused and
audited and changes nothing. Approving what needs a code never happens on a
click: Slack opens a dialog, Telegram asks for a reply, and the code goes
through the same check as the phone's and the dashboard's.
"""

from __future__ import annotations

import html
import re
from typing import Any

from django.db import transaction

from audit import services as audit
from audit.events import SYSTEM, Event
from chat import linking, services, slack, telegram, texts
from chat.errors import ChatError
from chat.models import ChatMessage, MessageStatus, Service
from handoffs import services as handoffs
from handoffs.errors import HandoffError
from handoffs.models import Status
from ony.models import Membership
from ony.refusal import Refusal

DECISIONS = {"ony_approve": "approve", "ony_deny": "deny", "a": "approve", "d": "deny"}


class ChatRefusal(Refusal):
    """An answer that changes nothing, with the reason to show."""


def _message(service: str, code: str) -> ChatMessage:
    message = (
        ChatMessage.objects.select_related(
            "org", "handoff", "handoff__org", "handoff__device", "member", "member__user"
        )
        .filter(service=service, code=code)
        .first()
    )
    # A click can beat the note that the message went out; a message never
    # sent has a code nobody saw.
    if message is None or message.status in (MessageStatus.SKIPPED, MessageStatus.FAILED):
        raise ChatRefusal("not_found", "Ony sent no such message.", 404)
    return message


def _clicked(message: ChatMessage, decision: str, outcome: str, actor: str = SYSTEM) -> None:
    data = {"service": message.service, "decision": decision, "outcome": outcome}
    with transaction.atomic():
        audit.append(message.org, Event.CHAT_CLICKED, actor, message.handoff.public_id, data)


def _answerer(message: ChatMessage, chat_user: str, decision: str) -> Membership:
    """The message's member, if ``chat_user`` is who it went to and still links it; else refused."""
    if chat_user != message.recipient or not services.still_linked(message):
        _clicked(message, decision, "not_yours")
        raise ChatRefusal(
            "not_yours", "Only the person this request was sent to can decide it.", 403
        )
    assert message.member is not None  # still_linked
    return message.member


def _decide(message: ChatMessage, member: Membership, decision: str, otp: str = "") -> None:
    """Decide through ``decide_by_member``; its refusals become ``ChatRefusal``s.

    Audited as ``chat.clicked`` with what came of it (``accepted``, or the
    refusal's code), after the decision's own entries.
    """
    try:
        handoffs.decide_by_member(member, message.handoff, decision, otp, via=message.service)
    except HandoffError as refusal:
        _clicked(message, decision, refusal.code, member.public_id)
        if refusal.code == "already_decided":
            services.on_decided(message.handoff)  # make sure the message shows how it ended
        raise ChatRefusal(refusal.code, refusal.detail, refusal.status) from None
    _clicked(message, decision, "accepted", member.public_id)


def _refuse_if_decided(message: ChatMessage) -> None:
    handoff = handoffs.expire_if_due(message.handoff)
    if handoff.status != Status.PENDING:
        services.on_decided(handoff)
        raise ChatRefusal("already_decided", f"Already decided: {texts.outcome(handoff)}", 409)


def _click(message: ChatMessage, chat_user: str, decision: str) -> bool:
    """A button: decide; or, approving what needs a code, return True: ask for the code."""
    member = _answerer(message, chat_user, decision)
    if handoffs.deciding_member(member.pk, message.org_id) is None:
        _clicked(message, decision, "not_allowed", member.public_id)
        raise ChatRefusal(
            "permission_denied", "You may not decide this organization's handoffs.", 403
        )
    _refuse_if_decided(message)
    if decision == "approve" and texts.code_needed(message.handoff):
        _clicked(message, decision, "code_asked", member.public_id)
        return True
    _decide(message, member, decision)
    return False


# Slack


def slack_button(user_id: str, action_id: str, code: str, trigger_id: str) -> None:
    """A click on a message's Approve or Deny; approving what needs a code opens the dialog."""
    message = _message(Service.SLACK, code)
    ask_code = _click(message, user_id, DECISIONS[action_id])
    if ask_code:
        try:
            slack.open_view(trigger_id, texts.slack_code_view(message))
        except ChatError as exc:
            raise ChatRefusal(
                "chat_unavailable", f"Slack did not open the dialog: {exc}", 502
            ) from None


def slack_code(user_id: str, code: str, otp: str) -> dict[str, Any]:
    """The code dialog's submission: Slack's ``response_action`` reply (errors show in it)."""
    try:
        message = _message(Service.SLACK, code)
        member = _answerer(message, user_id, "approve")
        _decide(message, member, "approve", otp)
    except ChatRefusal as refusal:
        return {"response_action": "errors", "errors": {texts.CODE_BLOCK: refusal.detail}}
    return {"response_action": "clear"}


# Telegram


def telegram_button(callback_id: str, from_id: str, data: str) -> str:
    """A button press (``a:CODE`` or ``d:CODE``); what to show the person, briefly."""
    kind, code = data.split(":", 1)
    try:
        message = _message(Service.TELEGRAM, code)
        ask_code = _click(message, from_id, DECISIONS[kind])
        if ask_code:
            _ask_for_code(message)
            shown = "Reply with your 6-digit code to approve."
        else:
            shown = "Approved." if kind == "a" else "Denied."
    except ChatRefusal as refusal:
        shown = refusal.detail
    services.quietly(lambda: telegram.answer_button(callback_id, shown))
    return shown


def _ask_for_code(message: ChatMessage) -> None:
    try:
        ref = telegram.ask_for_reply(message.channel, texts.telegram_code_prompt(message.handoff))
    except ChatError as exc:
        raise ChatRefusal(
            "chat_unavailable", f"Telegram did not take the question: {exc}", 502
        ) from None
    ChatMessage.objects.filter(pk=message.pk).update(prompt_ref=ref)


SIX_DIGITS = re.compile(r"^[0-9]{6}$")


def telegram_reply(chat_id: str, from_id: str, message_id: str, reply_to: str, text: str) -> str:
    """A reply to Ony's question for a code (``reply_to``: the question's id, or "").

    The reply is deleted first, whatever it holds; so is anything that looks
    like a code, sent to the bot in a private chat, that answers no current
    question (the person is told to press Approve again).
    """
    code = text.strip() if SIX_DIGITS.match(text.strip()) else ""
    message = (
        ChatMessage.objects.select_related(
            "org", "handoff", "handoff__org", "handoff__device", "member", "member__user"
        )
        .filter(service=Service.TELEGRAM, channel=chat_id, prompt_ref=reply_to)
        .first()
        if reply_to
        else None
    )
    if message is None:
        if not code or chat_id != from_id:
            return "ignored"
        services.quietly(lambda: telegram.delete_message(chat_id, message_id))
        stray = (
            "That code answers no current question, so nothing was approved: press Approve again."
        )
        services.quietly(lambda: telegram.send_message(chat_id, stray))
        return "stray_code"
    services.quietly(lambda: telegram.delete_message(chat_id, message_id))
    try:
        member = _answerer(message, from_id, "approve")
        _decide(message, member, "approve", code)
    except ChatRefusal as refusal:
        retry = (
            " Reply to the question again with a new code." if refusal.code == "invalid_otp" else ""
        )
        reply = html.escape(refusal.detail) + retry
        services.quietly(lambda: telegram.send_message(chat_id, reply))
        return refusal.code
    return "approved"


def telegram_start(chat_id: str, chat_type: str, from_id: str, token: str) -> str:
    """``/start TOKEN`` from a linking deep link: link the sender's account, and say so."""
    if chat_type != "private" or chat_id != from_id:
        return "ignored"  # linking happens in the private chat with the bot only
    member = linking.finish_telegram(token, from_id)
    if member is None:
        reply = "That link has expired or was already used. Make a new one on your Ony page."
    else:
        reply = f"Linked: Ony will send approval requests of {html.escape(member.org.name)} here."
    services.quietly(lambda: telegram.send_message(chat_id, reply))
    return "linked" if member else "refused"
