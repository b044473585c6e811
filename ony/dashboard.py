"""The dashboard's index: what waits for a person, who is on call, devices, the chains.

It reads every app, so it sits in the project layer beside ``ony.urls``,
which serves it at the admin's index URL. The panels redraw themselves
(``ony/live.js`` fetches ``panels`` every few seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from audit.models import AuditEntry, ChainStatus, Checkpoint
from devices.models import Device
from handoffs.models import Handoff, Status
from lifecycle import retention
from lifecycle.models import RetentionStatus
from ony.models import Membership, Organization, TOTPDevice
from telephony.models import CallAttempt

#: How many of the most urgent pending requests the index lists.
URGENT = 5
#: What "seen recently" means for a device.
RECENTLY = timedelta(hours=1)


@dataclass(frozen=True)
class OnCall:
    member: Membership
    callable: bool
    why_not: str  # "" when callable
    totp: bool
    on_a_call: bool


@dataclass(frozen=True)
class Chain:
    org: Organization
    head: int
    checkpoint: Checkpoint | None
    status: ChainStatus | None


def panels_context(user: Any) -> dict[str, Any]:
    """Everything the index shows, for the organizations ``user`` may read."""
    pending = Handoff.objects.for_user(user).filter(status=Status.PENDING)
    orgs = list(Organization.objects.for_user(user).order_by("name"))
    return {
        "pending_count": pending.count(),
        "urgent": list(pending.select_related("device").order_by("deadline")[:URGENT]),
        "on_call": on_call(user),
        "devices": list(
            Device.objects.for_user(user)
            .filter(last_seen_at__gte=timezone.now() - RECENTLY)
            .select_related("org")
            .order_by("-last_seen_at")
        ),
        "chains": [chain_of(org) for org in orgs],
        "retention": retention_of(orgs),
        "many_orgs": len(orgs) > 1,
    }


def on_call(user: Any) -> list[OnCall]:
    """The on-call lists of ``user``'s organizations, in call order, and who can be phoned."""
    members = list(
        Membership.objects.for_user(user)
        .on_call()
        .select_related("user", "org")
        .order_by("org__name", "oncall_order", "pk")
    )
    with_totp = set(
        TOTPDevice.objects.filter(user__in=[m.user for m in members], confirmed=True).values_list(
            "user_id", flat=True
        )
    )
    busy = set(
        CallAttempt.objects.filter(member__in=members)
        .keeping_busy()
        .values_list("member_id", flat=True)
    )
    return [
        OnCall(
            member=member,
            callable=member.callable,
            why_not=why_not_callable(member),
            totp=member.user_id in with_totp,
            on_a_call=member.pk in busy,
        )
        for member in members
    ]


def why_not_callable(member: Membership) -> str:
    if member.user is None or not member.user.is_active:
        return "deactivated"
    if member.role not in ("admin", "member"):
        return "a viewer is never called"
    if not member.phone:
        return "no phone number"
    if member.phone_invalid_at:
        return "number refused by the provider"
    return ""


def chain_of(org: Organization) -> Chain:
    head = AuditEntry.objects.for_org(org).order_by("-seq").values_list("seq", flat=True).first()
    return Chain(
        org=org,
        head=head or 0,
        checkpoint=Checkpoint.objects.for_org(org).order_by("-seq").first(),
        status=ChainStatus.objects.for_org(org).first(),
    )


def retention_of(orgs: list[Organization]) -> list[tuple[Organization, RetentionStatus | None]]:
    """Each org with its retention periods and how the last run went."""
    statuses = {s.org_id: s for s in RetentionStatus.objects.filter(org__in=orgs)}
    return [(org, statuses.get(org.pk)) for org in orgs]


def index(request: HttpRequest) -> HttpResponse:
    """The admin's index, with the live panels above the list of sections.

    In the embedded mode (no beat) it also starts the day's retention run.
    """
    retention.run_if_due()
    return admin.site.index(request, extra_context=panels_context(request.user))


def panels(request: HttpRequest) -> HttpResponse:
    """The panels alone, for the index to redraw itself."""
    context = {**admin.site.each_context(request), **panels_context(request.user)}
    return TemplateResponse(request, "admin/ony/panels.html", context)
