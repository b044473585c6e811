"""Reads of chat messages for the dashboard."""

from __future__ import annotations

from typing import Any

from chat.models import ChatMessage, MessageStatus
from chat.services import recipients
from handoffs import progress
from handoffs.models import Handoff, Status
from ony.models.org import ChatRoute


def messages_about(handoff: Handoff) -> list[ChatMessage]:
    """The chat messages about ``handoff``, in the order they were made."""
    return list(
        ChatMessage.objects.for_handoff(handoff).select_related("member__user").order_by("pk")
    )


def handoff_section(handoff: Handoff) -> dict[str, Any]:
    """The context of the "Chat" section of a handoff's page."""
    return {"chat_messages": messages_about(handoff), "handoff": handoff}


def chat_progress(handoff: Handoff) -> progress.Reach | None:
    """How far the chat messages about ``handoff`` got; ``None`` when its risk is not sent to chat.

    ``people`` is how many approvers have a linked chat account on a
    configured service, ``contacted`` how many messages went out.
    """
    if handoff.org.chat_route(handoff.risk) == ChatRoute.OFF:
        return None
    people = len({recipient.member.pk for recipient in recipients(handoff)})
    contacted = (
        ChatMessage.objects.for_handoff(handoff)
        .filter(status__in=(MessageStatus.SENT, MessageStatus.CLOSED))
        .count()
    )
    if handoff.status != Status.PENDING:
        state = progress.DONE
    elif contacted:
        state = progress.SENT
    elif people == 0:
        state = progress.NOBODY
    else:
        state = progress.WAITING
    return progress.Reach(state, people, contacted)
