"""Organizations and memberships: the only code that changes them.

Admin pages, API views and commands call these functions; they validate,
enforce the rules that span rows (one admin at least), and run in a
transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ony.models import Membership, Organization, TOTPDevice, User
from ony.models.user import normalize_email
from ony.phone import normalize_e164
from ony.roles import MANAGE

#: Membership fields a manager may change after creation (not org or user).
EDITABLE_MEMBER_FIELDS = (
    "role",
    "phone",
    "timezone",
    "oncall_order",
    "telegram_chat_id",
    "slack_user_id",
)


def create_organization(*, name: str, slug: str, timezone: str = "UTC") -> Organization:
    org = Organization(name=name, slug=slug, timezone=timezone)
    org.full_clean()
    org.save()
    return org


def _clean_member_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(EDITABLE_MEMBER_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if fields.get("phone"):
        fields["phone"] = normalize_e164(fields["phone"])
    return fields


@transaction.atomic
def add_member(org: Organization, email: str, **fields: Any) -> Membership:
    """Give the person with ``email`` a place in ``org``, creating the user if new.

    The user may log in to the dashboard (``is_staff``) but sees only the
    organizations they belong to. Raises ``ValidationError`` (code
    ``already_member``) if they are already in ``org``.
    """
    fields = _clean_member_fields(dict(fields))
    email = normalize_email(email)
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, is_staff=True)
        user.set_unusable_password()
        user.full_clean()
        user.save()
    elif not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    if Membership.objects.for_org(org).filter(user=user).exists():
        raise ValidationError(f"{email} is already a member.", code="already_member")
    membership = Membership(org=org, user=user, **fields)
    membership.full_clean()
    membership.save()
    return membership


def is_last_admin(membership: Membership) -> bool:
    """Whether removing or demoting ``membership`` would leave its org without an admin."""
    if membership.role not in MANAGE:
        return False
    return Membership.objects.for_org(membership.org_id).filter(role__in=MANAGE).count() <= 1


def _lock_admins(org: Organization) -> int:
    """Lock the org's row (serializing admin changes) and count its admins."""
    Organization.objects.select_for_update().get(pk=org.pk)
    return Membership.objects.for_org(org).filter(role__in=MANAGE).count()


@transaction.atomic
def update_member(membership: Membership, **fields: Any) -> Membership:
    """Change a membership's editable fields; an org always keeps one admin."""
    fields = _clean_member_fields(dict(fields))
    current = Membership.objects.select_for_update().get(pk=membership.pk)
    demoting = current.role in MANAGE and fields.get("role", current.role) not in MANAGE
    if demoting and _lock_admins(current.org) <= 1:
        raise ValidationError(
            "An organization needs at least one admin: make someone else admin first.",
            code="last_admin",
        )
    for name, value in fields.items():
        setattr(current, name, value)
    current.full_clean()
    current.save()
    for name in fields:
        setattr(membership, name, getattr(current, name))
    return current


@transaction.atomic
def remove_member(membership: Membership) -> None:
    """Remove a membership; the last admin of an org cannot be removed."""
    current = Membership.objects.select_for_update().get(pk=membership.pk)
    if current.role in MANAGE and _lock_admins(current.org) <= 1:
        raise ValidationError(
            "An organization needs at least one admin: make someone else admin first.",
            code="last_admin",
        )
    current.delete()


def ensure_totp_device(user: User, name: str = "Authenticator") -> TOTPDevice:
    """The user's confirmed TOTP device, created with a fresh secret if missing."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
    return device
