"""Reads of calls for the dashboard."""

from __future__ import annotations

from typing import Any

from handoffs.models import Handoff
from telephony.models import CallAttempt


def calls_about(handoff: Handoff) -> list[CallAttempt]:
    """The call attempts about ``handoff``, in the order they were made."""
    attempts = CallAttempt.objects.for_org(handoff.org_id).filter(handoff=handoff)
    return list(attempts.select_related("member__user").order_by("pk"))


def handoff_section(handoff: Handoff) -> dict[str, Any]:
    """The context of the "Calls" section of a handoff's page."""
    return {"calls": calls_about(handoff), "handoff": handoff}
