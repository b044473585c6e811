"""Reads of handoffs and the taxonomy, for the API and the dashboard.

Selectors fetch and never change anything; the one write a read may cause,
expiring a pending handoff past its deadline, is ``services.expire_if_due``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

from audit.models import AuditEntry
from devices.models import Device
from handoffs import taxonomy
from handoffs.errors import HandoffError, HandoffNotFound
from handoffs.models import Handoff, Status
from ony.models import Organization
from ony.models.tenancy import roles_by_org
from ony.roles import DECIDE, Role

#: The most handoffs one list answer holds.
PAGE_SIZE = 100


@dataclass(frozen=True)
class ActionRisk:
    action: str
    category: str
    risk: str
    base_risk: str
    description: str


@dataclass(frozen=True)
class OrgTaxonomy:
    """The taxonomy as one organization sees it (``org`` None: the base taxonomy)."""

    version: int
    org: str | None
    unknown_action_risk: str
    actions: list[ActionRisk]


def taxonomy_for(org: Organization | None) -> OrgTaxonomy:
    """Every action with its risk for ``org`` (its overrides applied), or the base risks."""
    overrides = org.risk_overrides if org else {}
    return OrgTaxonomy(
        version=taxonomy.VERSION,
        org=org.public_id if org else None,
        unknown_action_risk=taxonomy.UNKNOWN_ACTION_RISK.label,
        actions=[
            ActionRisk(
                action=action.name,
                category=action.category,
                risk=taxonomy.effective_risk(action.name, overrides).label,
                base_risk=action.risk.label,
                description=action.description,
            )
            for action in taxonomy.ACTIONS.values()
        ],
    )


def device_handoff(device: Device, request_id: str) -> Handoff:
    """The device's own handoff ``request_id``; ``not_found`` for any other."""
    handoff = (
        Handoff.objects.for_org(device.org_id)
        .filter(device=device, public_id=request_id)
        .select_related("org", "device")
        .first()
    )
    if handoff is None:
        raise HandoffNotFound()
    return handoff


def member_handoff(user: Any, request_id: str) -> Handoff:
    """Handoff ``request_id`` of one of ``user``'s organizations; ``not_found`` otherwise."""
    handoff = (
        Handoff.objects.for_user(user)
        .filter(public_id=request_id)
        .select_related("org", "device", "decided_by")
        .first()
    )
    if handoff is None:
        raise HandoffNotFound()
    return handoff


def member_handoffs(user: Any, *, status: str = "", org_slug: str = "") -> QuerySet[Handoff]:
    """The newest ``PAGE_SIZE`` handoffs of ``user``'s organizations, optionally filtered."""
    handoffs = Handoff.objects.for_user(user).select_related("org", "device", "decided_by")
    if status:
        if status not in Status.values:
            raise HandoffError("invalid_status", f"status is one of {', '.join(Status.values)}.")
        handoffs = handoffs.filter(status=status)
    if org_slug:
        handoffs = handoffs.filter(org__slug=org_slug)
    return handoffs[:PAGE_SIZE]


@dataclass(frozen=True)
class Reader:
    """What the person looking at a handoff may do with it."""

    role: str | None  # their role in its organization (None: an operator outside it)
    may_decide: bool
    may_read_payload: bool


def reader_of(user: Any, handoff: Handoff) -> Reader:
    """Members and admins decide and read payloads; viewers read them if the org lets them."""
    role = roles_by_org(user).get(handoff.org_id)
    may_decide = role in DECIDE
    may_read = may_decide or (role == Role.VIEWER and handoff.org.viewers_read_payloads)
    return Reader(role, may_decide, may_read)


def audit_trail(handoff: Handoff) -> QuerySet[AuditEntry]:
    """The audit entries about ``handoff``, in chain order."""
    return (
        AuditEntry.objects.for_org(handoff.org_id).filter(subject=handoff.public_id).order_by("seq")
    )


def page_url(handoff: Handoff) -> str:
    """The absolute address of ``handoff``'s page in the dashboard (the index without an admin).

    What an SMS or a chat message links to.
    """
    try:
        path = reverse("admin:handoffs_handoff_change", args=[handoff.pk])
    except NoReverseMatch:
        path = reverse("admin:index")
    return settings.ONY_PUBLIC_URL + path
