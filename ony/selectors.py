"""Reads of organizations and their members, scoped to the person asking."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from ony.models import Membership, Organization


def organizations_of(user: Any) -> QuerySet[Organization]:
    """The organizations ``user`` belongs to (every one, for a superuser)."""
    return Organization.objects.for_user(user)


def members_of(user: Any, slug: str) -> QuerySet[Membership]:
    """The members of ``user``'s organization ``slug``, in call order; 404 for any other org."""
    org = get_object_or_404(organizations_of(user), slug=slug)
    return (
        Membership.objects.for_user(user)
        .for_org(org)
        .select_related("user")
        .order_by("oncall_order", "user__email")
    )
