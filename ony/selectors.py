"""Reads of organizations and their members, scoped to the person asking."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from ony.models import Membership, Organization, User
from ony.models.tenancy import roles_by_org


def organizations_of(user: Any) -> QuerySet[Organization]:
    """The organizations ``user`` belongs to (every one, for a superuser)."""
    return Organization.objects.for_user(user)


def organization_of(user: Any, slug: str) -> Organization:
    """``user``'s organization ``slug``; 404 for any other, whether or not it exists."""
    return get_object_or_404(organizations_of(user), slug=slug)


def roles_of(user: Any) -> dict[int, str]:
    """``{organization pk: role}`` for the organizations ``user`` belongs to."""
    return roles_by_org(user)


def members_of(user: Any, slug: str) -> QuerySet[Membership]:
    """The members of ``user``'s organization ``slug``, in call order; 404 for any other org."""
    org = organization_of(user, slug)
    return (
        Membership.objects.for_user(user)
        .for_org(org)
        .select_related("user")
        .order_by("oncall_order", "user__email")
    )


def display_names(public_ids: Iterable[str], org: Organization | int) -> dict[str, str]:
    """``{mem_/usr_ id: the person's name or email}``, for showing ``org``'s pseudonyms to people.

    Looked up for display only (the audit chain keeps the pseudonym), among
    ``org``'s members (and operators, ``usr_``); the caller shows them only to
    people who may read ``org``.
    """
    wanted = set(public_ids)
    names: dict[str, str] = {}
    members = Membership.all_objects.for_org(org).filter(public_id__in=wanted)
    for member in members.select_related("user"):
        names[member.public_id] = member.display_name
    for user in User.objects.filter(public_id__in=wanted - set(names)):
        names[user.public_id] = user.full_name or user.email
    return names
