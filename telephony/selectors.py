"""Reads of calls for the dashboard."""

from __future__ import annotations

import re
from typing import Any

from django.urls import reverse

from handoffs import progress
from handoffs.models import Handoff, Status
from ony.models import Membership
from ony.models.org import PHONE_ROUTES
from telephony.conf import provider
from telephony.models import ENDED, CallAttempt


def calls_about(handoff: Handoff) -> list[CallAttempt]:
    """The call attempts about ``handoff``, in the order they were made."""
    attempts = CallAttempt.objects.for_org(handoff.org_id).filter(handoff=handoff)
    return list(attempts.select_related("member__user").order_by("pk"))


def handoff_section(handoff: Handoff) -> dict[str, Any]:
    """The context of the "Calls" section of a handoff's page."""
    return {"calls": calls_about(handoff), "handoff": handoff}


def approvers(org_id: int) -> list[Membership]:
    """The members the escalation phones, in call order."""
    members = Membership.objects.for_org(org_id).on_call().select_related("user")
    return [member for member in members if member.callable]


def phone_progress(handoff: Handoff) -> progress.Reach | None:
    """How far the calls about ``handoff`` got; ``None`` when its risk is not phoned.

    ``people`` is how many approvers the escalation can phone now (none with
    no provider), ``contacted`` how many calls the provider placed (an
    attempt saved but not yet placed, during a round's pause say, is waiting).
    """
    if handoff.org.route(handoff.risk) not in PHONE_ROUTES:
        return None
    people = len(approvers(handoff.org_id)) if provider() is not None else 0
    attempts = list(
        CallAttempt.objects.for_org(handoff.org_id)
        .filter(handoff=handoff)
        .values_list("status", "call_sid")
    )
    placed = [status for status, call_sid in attempts if call_sid]
    if handoff.status != Status.PENDING:
        state = progress.DONE
    elif any(status not in ENDED for status in placed):
        state = progress.CALLING
    elif people == 0:
        state = progress.NOBODY
    else:
        state = progress.WAITING
    return progress.Reach(state, people, len(placed))


#: Where a call's code sits in the URLs Ony gives the provider.
CALL_CODE = re.compile(r"/telephony/calls/([A-Za-z0-9_-]+)/")


def rings_for(user: Any, call_url: str) -> bool:
    """Whether the call (by the URL it fetches) is one Ony placed to ``user``'s own membership.

    By who the attempt is for, never by the number: anyone may type any number
    into their own membership.
    """
    match = CALL_CODE.search(call_url)
    if match is None:
        return False
    return CallAttempt.objects.filter(code=match.group(1), member__user=user).exists()


def request_of_call(user: Any, call_url: str) -> dict[str, Any] | None:
    """The request a call (by the URL it fetches) is about, for ``user``'s softphone.

    ``None`` unless the call's attempt belongs to one of ``user``'s orgs.
    """
    match = CALL_CODE.search(call_url)
    if match is None:
        return None
    attempt = (
        CallAttempt.objects.for_user(user)
        .filter(code=match.group(1))
        .select_related("handoff")
        .first()
    )
    if attempt is None:
        return None
    handoff = attempt.handoff
    return {
        "request_id": handoff.public_id,
        "title": handoff.title,
        "action": handoff.action,
        "target": handoff.target,
        "risk": handoff.risk,
        "status": handoff.status,
        "outcome": attempt.get_outcome_display() if attempt.outcome else "",
        "url": reverse("admin:handoffs_handoff_change", args=[handoff.pk]),
    }
