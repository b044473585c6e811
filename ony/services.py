"""Organizations and memberships: the only code that changes them.

Admin pages, API views and commands call these functions; they validate,
enforce the rules that span rows (an org keeps one admin), run in a
transaction, and record each change in the org's audit chain. ``actor`` is
the pseudonymous id of whoever acts (``audit.services.actor_for``).
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Model, ProtectedError
from django.utils import timezone
from django_otp.oath import TOTP

from audit import services as audit
from audit.events import SYSTEM, Event
from ony import signals
from ony.models import ApiToken, Invitation, Membership, Organization, TOTPDevice, User
from ony.models.totp import KEY_BYTES
from ony.models.user import normalize_email
from ony.phone import normalize_e164
from ony.roles import MANAGE
from ony.tokens import new_token, token_hash

#: Membership fields a manager may change after creation (not org or user).
EDITABLE_MEMBER_FIELDS = (
    "role",
    "phone",
    "timezone",
    "oncall_order",
)
#: Organization fields its admins may change.
EDITABLE_ORG_FIELDS = (
    "name",
    "timezone",
    "deadline_seconds_low",
    "deadline_seconds_medium",
    "deadline_seconds_high",
    "deadline_seconds_critical",
    "policy_low",
    "policy_medium",
    "policy_high",
    "policy_critical",
    "chat_low",
    "chat_medium",
    "chat_high",
    "chat_critical",
    "risk_overrides",
    "viewers_read_payloads",
    "payload_retention_days",
    "detail_retention_days",
)


@transaction.atomic
def create_organization(*, name: str, slug: str, actor: str, timezone: str = "UTC") -> Organization:
    org = Organization(name=name, slug=slug, timezone=timezone)
    org.full_clean()
    org.save()
    audit.append(org, Event.ORG_CREATED, actor, org.public_id, {"slug": slug})
    return org


#: Organization fields whose old and new values the audit records: policy,
#: deadlines, risk overrides and retention hold no personal data.
VALUE_AUDITED_ORG_FIELDS = frozenset(EDITABLE_ORG_FIELDS) - {"name", "timezone"}


def _changed(obj: Any, fields: dict[str, Any]) -> list[str]:
    return sorted(name for name, value in fields.items() if getattr(obj, name) != value)


@transaction.atomic
def update_organization(org: Organization, *, actor: str, **fields: Any) -> Organization:
    """Change an org's editable settings.

    The ``org.updated`` entry names the fields changed and, for policy,
    deadline and risk-override fields, their old and new values. A critical
    policy other than the floor is refused (``ValidationError``, ``policy_floor``).
    """
    unknown = set(fields) - set(EDITABLE_ORG_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    audit.hold_chain(org)  # the chain, then the org's row: the order creates take
    current = Organization.objects.select_for_update(no_key=True).get(pk=org.pk)
    changed = _changed(current, fields)
    values = {
        name: {"from": getattr(current, name), "to": fields[name]}
        for name in changed
        if name in VALUE_AUDITED_ORG_FIELDS
    }
    for name in changed:
        setattr(current, name, fields[name])
    current.full_clean()
    current.save()
    if changed:
        data = {"fields": changed, "changes": values}
        audit.append(current, Event.ORG_UPDATED, actor, current.public_id, data)
    return current


def _clean_member_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(EDITABLE_MEMBER_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if fields.get("phone"):
        fields["phone"] = normalize_e164(fields["phone"])
    return fields


@transaction.atomic
def add_member(org: Organization, email: str, *, actor: str, **fields: Any) -> Membership:
    """Give the person with ``email`` a place in ``org``, creating the user if new.

    The user may log in to the dashboard (``is_staff``) but sees only the
    organizations they belong to. Raises ``ValidationError`` (code
    ``already_member``) if they are already in ``org``.
    """
    fields = _clean_member_fields(dict(fields))
    email = normalize_email(email)
    audit.hold_chain(org)  # the chain first, then rows (see audit.hold_chain)
    # Locked: an erasure deciding at this moment whether to delete this account
    # waits for this membership, or this finds the account gone and makes one.
    user = User.objects.select_for_update(no_key=True).filter(email=email).first()
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
    audit.append(
        org,
        Event.MEMBER_ADDED,
        actor,
        membership.public_id,
        {"role": membership.role, "oncall_order": membership.oncall_order},
    )
    return membership


def is_last_admin(membership: Membership) -> bool:
    """Whether removing or demoting ``membership`` would leave its org without an admin."""
    if membership.role not in MANAGE:
        return False
    return Membership.objects.for_org(membership.org_id).filter(role__in=MANAGE).count() <= 1


def orgs_left_without_admin(memberships: list[Membership]) -> list[Organization]:
    """The organizations that would have no admin left if all ``memberships`` went."""
    leaving = {m.pk for m in memberships}
    orgs = {m.org_id: m.org for m in memberships if m.role in MANAGE}
    return [
        org
        for org_id, org in orgs.items()
        if not Membership.objects.for_org(org_id)
        .filter(role__in=MANAGE)
        .exclude(pk__in=leaving)
        .exists()
    ]


def _lock_admins(org: Organization) -> int:
    """Lock the org's row (serializing admin changes) and count its admins.

    FOR NO KEY UPDATE, as every lock Ony takes on a row others point at: a
    new handoff's or entry's foreign-key check on the org is not held up by
    it, so nothing waits on the org row while holding the org's chain lock.
    """
    audit.hold_chain(org)  # the chain, then the org's row: the order creates take
    Organization.objects.select_for_update(no_key=True).get(pk=org.pk)
    return Membership.objects.for_org(org).filter(role__in=MANAGE).count()


def _refuse_last_admin() -> ValidationError:
    return ValidationError(
        "An organization needs at least one admin: make someone else admin first.",
        code="last_admin",
    )


@transaction.atomic
def update_member(membership: Membership, *, actor: str, **fields: Any) -> Membership:
    """Change a membership's editable fields; an org always keeps one admin.

    A role change is audited as ``member.role_changed`` (from, to); other
    changes as ``member.updated`` with the names of the fields, not values.
    """
    fields = _clean_member_fields(dict(fields))
    audit.hold_chain(membership.org_id)  # the chain first, then rows (see hold_chain)
    current = Membership.objects.select_for_update(no_key=True).get(pk=membership.pk)
    old_role = current.role
    demoting = old_role in MANAGE and fields.get("role", old_role) not in MANAGE
    if demoting and _lock_admins(current.org) <= 1:
        raise _refuse_last_admin()
    changed = _changed(current, fields)
    for name in changed:
        setattr(current, name, fields[name])
    if "phone" in changed:
        current.phone_invalid_at = None  # a new number gets called again
    current.full_clean()
    current.save()
    org, subject = current.org, current.public_id
    if "role" in changed:
        data = {"from": old_role, "to": current.role}
        audit.append(org, Event.MEMBER_ROLE_CHANGED, actor, subject, data)
    if others := [name for name in changed if name != "role"]:
        audit.append(org, Event.MEMBER_UPDATED, actor, subject, {"fields": others})
    for name in fields:
        setattr(membership, name, getattr(current, name))
    return current


@transaction.atomic
def flag_phone_invalid(membership: Membership, *, actor: str) -> None:
    """Record that the telephony provider refused the member's number; cleared when it changes."""
    flagged = Membership.objects.filter(pk=membership.pk, phone_invalid_at__isnull=True).update(
        phone_invalid_at=timezone.now()
    )
    if flagged:
        data = {"fields": ["phone_invalid_at"]}
        audit.append(membership.org, Event.MEMBER_UPDATED, actor, membership.public_id, data)


@transaction.atomic
def remove_member(membership: Membership, *, actor: str) -> None:
    """Remove a membership; the last admin of an org cannot be removed."""
    audit.hold_chain(membership.org_id)  # the chain first, then rows (see hold_chain)
    current = Membership.objects.select_for_update(no_key=True).get(pk=membership.pk)
    if current.role in MANAGE and _lock_admins(current.org) <= 1:
        raise _refuse_last_admin()
    org, subject, role = current.org, current.public_id, current.role
    signals.member_leaving.send(sender=Membership, membership=current)
    current.delete()
    audit.append(org, Event.MEMBER_REMOVED, actor, subject, {"role": role})


@transaction.atomic
def erase_member(membership: Membership, *, actor: str) -> bool:
    """Erase a person's personal data in ``membership``'s organization; whether their
    account went too.

    The membership stays as a row with its pseudonymous ``mem_`` id, its role
    and ``erased_at``, so handoffs, calls and the chain still name it (and the
    chain still verifies); its user, phone, time zone, on-call place and chat
    ids are cleared, the org's invitations to that email deleted, and each app
    deletes what it holds (``signals.member_leaving``: chat links and
    messages). The account (with its authenticator, API tokens and login
    records) goes too when no other organization holds it and it is not an
    installation operator's (a superuser's, which only ``delete_user``
    deletes); otherwise it stays, as the other organizations' or the
    installation's data. Audited as ``member.erased``, which does not say
    whether the account went (that would tell this org about others).
    Refused with ``ValidationError``: ``last_admin`` (the org would have no
    admin left), ``already_erased``.
    """
    audit.hold_chain(membership.org_id)  # the chain first, then rows (see hold_chain)
    current = (
        Membership.all_objects.select_for_update(no_key=True)
        .filter(pk=membership.pk)
        .order_by("pk")
        .first()
    )
    if current is None or current.erased_at is not None:
        raise ValidationError("This member was already erased or removed.", code="already_erased")
    if current.role in MANAGE and _lock_admins(current.org) <= 1:
        raise _refuse_last_admin()
    # The account's row is locked before its other memberships are counted, so
    # two erasures of one person in two orgs cannot both find the other still there.
    user = User.objects.select_for_update(no_key=True).get(pk=current.person.pk)
    signals.member_leaving.send(sender=Membership, membership=current)
    invitations = Invitation.objects.for_org(current.org).filter(email__iexact=user.email)
    erased = f"erased member {current.public_id}"
    _rename_in_admin_log(Invitation, list(invitations.values_list("pk", flat=True)), erased)
    _rename_in_admin_log(Membership, [current.pk], erased)
    invitations.delete()
    for name in ("phone", "timezone", "telegram_chat_id", "slack_user_id"):
        setattr(current, name, "")
    current.user, current.oncall_order, current.phone_invalid_at = None, None, None
    current.erased_at = timezone.now()
    current.save()
    account_deleted = not user.is_superuser and not Membership.objects.filter(user=user).exists()
    if account_deleted:
        _delete_account(user, erased)
    audit.append(current.org, Event.MEMBER_ERASED, actor, current.public_id, {"role": current.role})
    return account_deleted


def _rename_in_admin_log(model: type[Model], pks: list[int], name: str) -> None:
    """Django admin's history names objects as they were (``object_repr``: an email, say):
    for these objects it names ``name`` instead, keeping what was done and when."""
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model, for_concrete_model=False),
        object_id__in=[str(pk) for pk in pks],
    ).update(object_repr=name)


def _delete_account(user: User, name: str) -> None:
    """Delete an account no organization holds, with its login records (django-axes);
    the admin's history names it ``name`` from now on."""
    _rename_in_admin_log(User, [user.pk], name)
    # Its API tokens' and authenticators' names in the history name it too.
    _rename_in_admin_log(ApiToken, list(user.api_tokens.values_list("pk", flat=True)), name)
    devices = TOTPDevice.objects.filter(user=user).values_list("pk", flat=True)
    _rename_in_admin_log(TOTPDevice, list(devices), name)
    for records in (AccessAttempt, AccessFailureLog, AccessLog):
        records.objects.filter(username__iexact=user.email).delete()
    user.delete()  # authenticator devices and API tokens go with it (CASCADE)


@transaction.atomic
def delete_user(user: User, *, by: Any) -> None:
    """Delete ``user``: erase each of their memberships as ``erase_member`` does, then the account.

    Each erasure is audited in its org's chain (``member.erased``, with
    ``by``'s pseudonymous id there as actor). Refused, with nothing changed,
    if it would leave an organization without an admin (``last_admin``).
    """
    for membership in Membership.objects.filter(user=user).select_related("org"):
        erase_member(membership, actor=audit.actor_for(by, membership.org))
    if User.objects.filter(pk=user.pk).exists():  # a superuser's, or one in no org
        _delete_account(user, f"deleted user {user.public_id}")


def refuse_deleting_a_member(sender: type[User], instance: User, **kwargs: Any) -> None:
    """``pre_delete`` for users: one with memberships is deleted only by ``delete_user``.

    Anything else (a script, a bulk delete) would drop the memberships with
    no audit entry, and perhaps an organization's last admin.
    """
    if Membership.objects.filter(user=instance).exists():
        raise ProtectedError(
            "Delete users who belong to organizations with ony.services.delete_user.",
            set(Membership.objects.filter(user=instance)),
        )


def ensure_totp_device(user: User, name: str = "Authenticator") -> TOTPDevice:
    """The user's confirmed TOTP device, created with a fresh secret if missing."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
    return device


#: How long an invitation link works.
INVITATION_LIFETIME = timedelta(days=3)
INVITATION_PREFIX = "ony_inv_"


@transaction.atomic
def invite(
    org: Organization,
    email: str,
    *,
    role: str,
    actor: str,
    created_by: Membership | None = None,
) -> tuple[Invitation, str]:
    """Invite ``email`` to ``org`` with ``role``; return the invitation and its one-time token.

    Only the token's SHA-256 is stored. Audited as ``member.invited`` (the
    role; never the address). ``ValidationError`` (``already_member``) if the
    person is already in ``org``.
    """
    email = normalize_email(email)
    if Membership.objects.for_org(org).filter(user__email=email).exists():
        raise ValidationError(f"{email} is already a member.", code="already_member")
    token = new_token(INVITATION_PREFIX)
    invitation = Invitation(
        org=org,
        email=email,
        role=role,
        token_hash=token_hash(token),
        created_by=created_by,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    invitation.full_clean()
    invitation.save()
    audit.append(org, Event.MEMBER_INVITED, actor, invitation.public_id, {"role": role})
    return invitation, token


def invitation_for(token: str) -> Invitation:
    """The invitation ``token`` opens; ``ValidationError`` if unknown, used or expired."""
    invitation = (
        Invitation.objects.filter(token_hash=token_hash(token)).select_related("org").first()
        if token.startswith(INVITATION_PREFIX)
        else None
    )
    if invitation is None:
        raise ValidationError("This invitation link is not valid.", code="invitation_invalid")
    if invitation.accepted_at is not None:
        raise ValidationError("This invitation was used already.", code="invitation_used")
    if invitation.expires_at <= timezone.now():
        raise ValidationError(
            "This invitation has expired: ask for a new one.", code="invitation_expired"
        )
    return invitation


def invitation_totp_key(token: str) -> str:
    """The TOTP secret offered with invitation ``token`` (hex): the same on every visit,
    derived from the token with the server's key, so nothing is stored before acceptance."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"ony-invite-totp\n" + token.encode(), "sha256")
    return digest.digest()[:KEY_BYTES].hex()


def needs_credentials(invitation: Invitation) -> bool:
    """Whether the invitee sets a password and an authenticator on the invitation page.

    Only someone Ony does not know yet, or an account that cannot log in (no
    password or no confirmed authenticator) and belongs to no organization but
    the invitation's: whoever holds the link chooses the credentials, and the
    link is shown to the inviting admin, so it must never open an account that
    anything else (another org, the installation) relies on. Everyone else
    logs in as themselves to join (``accept_invitation``'s ``joining``).
    """
    user = User.objects.filter(email=invitation.email).first()
    if user is None:
        return True
    if user.is_superuser or _can_log_in(user):
        return False
    return not Membership.objects.filter(user=user).exclude(org=invitation.org_id).exists()


def _can_log_in(user: User) -> bool:
    return (
        user.has_usable_password() and TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    )


@transaction.atomic
def accept_invitation(
    token: str, *, joining: User | None = None, password: str = "", code: str = ""
) -> Membership:
    """Join the invitation's org, once (its row is locked); audited as ``member.added``.

    Someone who ``needs_credentials`` sets ``password`` and confirms the
    authenticator the page showed (``invitation_totp_key``) with ``code``,
    which is then spent. Anyone else must be signed in as the invited address
    (``joining``): ``ValidationError`` ``log_in_first`` otherwise. Someone
    already in the org just uses up the invitation.
    """
    invitation = invitation_for(token)
    invitation = Invitation.objects.select_for_update().select_related("org").get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationError("This invitation was used already.", code="invitation_used")
    new_person = needs_credentials(invitation)
    if not new_person and (joining is None or joining.email != invitation.email):
        raise ValidationError(
            f"Log in as {invitation.email} to join {invitation.org.name}.", code="log_in_first"
        )
    key = invitation_totp_key(token)
    totp = TOTP(bytes.fromhex(key), drift=0)
    if new_person:
        validate_password(password, User(email=invitation.email))
        if not (code.isascii() and code.isdigit() and totp.verify(int(code), tolerance=1)):
            raise ValidationError("That code is not the one your app shows.", code="invalid_otp")
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    existing = Membership.objects.for_org(invitation.org).filter(user__email=invitation.email)
    membership = existing.select_related("user").first()
    if membership is None:
        actor = invitation.created_by.public_id if invitation.created_by else SYSTEM
        membership = add_member(invitation.org, invitation.email, actor=actor, role=invitation.role)
    if new_person:
        user = membership.user
        user.set_password(password)
        user.save(update_fields=["password"])
        TOTPDevice.objects.filter(user=user).delete()
        # The code just typed is spent: it cannot log in a second time.
        TOTPDevice.objects.create(
            user=user, name="Authenticator", key=key, confirmed=True, last_t=totp.t()
        )
    return membership


def send_invitation(invitation: Invitation, link: str) -> bool:
    """Email ``link`` to the invitee when an email server is configured (``EMAIL_HOST``)."""
    if not settings.EMAIL_HOST:
        return False
    send_mail(
        f"Join {invitation.org.name} on Ony",
        f"You are invited to {invitation.org.name} on Ony as {invitation.role}.\n\n"
        f"Set your password and your authenticator here (the link works once, until "
        f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n\n{link}\n",
        None,
        [invitation.email],
    )
    return True
