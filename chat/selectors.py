"""Reads of chat messages for the dashboard."""

from __future__ import annotations

from typing import Any

from chat.models import ChatMessage
from handoffs.models import Handoff


def messages_about(handoff: Handoff) -> list[ChatMessage]:
    """The chat messages about ``handoff``, in the order they were made."""
    return list(
        ChatMessage.objects.for_handoff(handoff).select_related("member__user").order_by("pk")
    )


def handoff_section(handoff: Handoff) -> dict[str, Any]:
    """The context of the "Chat" section of a handoff's page."""
    return {"chat_messages": messages_about(handoff), "handoff": handoff}
