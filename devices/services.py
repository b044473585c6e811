"""Enrolling, authenticating, revoking and freezing devices; signing their verdicts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.events import SYSTEM, Event
from devices import credentials, verdicts
from devices.models import Device, EnrollmentToken
from ony import tokens
from ony.models import Membership, Organization
from ony.phone import contains_phone_number
from ony.refusal import Refusal

ENROLLMENT_MINUTES = 15
# Device names end up in the audit log: letters, digits, spaces and a little
# punctuation; no "+" or "@", so no phone number or email can slip in.
DEVICE_NAME = re.compile(r"^[\w .()'-]{1,100}$")
FREEZE_REASON = re.compile(r"^[a-z_]{1,40}$")


class DeviceError(Refusal):
    """A device or enrollment refusal."""


@dataclass(frozen=True)
class Enrolled:
    device: Device
    device_token: str  # shown once, to the enrolling machine
    decision_key: str  # base64url; shown once, to the enrolling machine


def create_enrollment_token(
    org: Organization,
    *,
    created_by: Membership | None = None,
    minutes: int = ENROLLMENT_MINUTES,
) -> tuple[EnrollmentToken, str]:
    """A single-use enrollment token for ``org`` and its plain text (shown once, stored hashed)."""
    if not 1 <= minutes <= ENROLLMENT_MINUTES:
        raise ValueError(f"an enrollment token lives 1 to {ENROLLMENT_MINUTES} minutes")
    token = tokens.new_token(credentials.ENROLLMENT_PREFIX)
    record = EnrollmentToken.objects.create(
        org=org,
        token_hash=tokens.token_hash(token),
        created_by=created_by,
        expires_at=timezone.now() + timedelta(minutes=minutes),
    )
    return record, token


@transaction.atomic
def enroll(token: str, name: str) -> Enrolled:
    """Turn an enrollment token into a device of the token's organization.

    The token is the credential and names the organization, so it is looked up
    across organizations on purpose. Raises ``DeviceError`` (codes
    ``enrollment_token_invalid``, ``_used``, ``_expired``, ``invalid_name``)
    and then leaves nothing behind.
    """
    if not DEVICE_NAME.match(name) or contains_phone_number(name):
        raise DeviceError(
            "invalid_name",
            "Use 1 to 100 letters, digits, spaces and . ( ) ' - for the name, and no phone number.",
        )
    record = (
        EnrollmentToken.objects.select_for_update(of=("self",))
        .select_related("org", "created_by")
        .filter(token_hash=tokens.token_hash(token))
        .first()
    )
    now = timezone.now()
    if record is None:
        raise DeviceError("enrollment_token_invalid", "This enrollment token is not valid.")
    if record.used_at is not None:
        raise DeviceError("enrollment_token_used", "This enrollment token was already used.")
    if record.expires_at <= now:
        raise DeviceError("enrollment_token_expired", "This enrollment token has expired.")
    device_token, decision_key = (
        tokens.new_token(credentials.DEVICE_PREFIX),
        credentials.new_decision_key(),
    )
    device = Device.objects.create(
        org=record.org,
        owner=record.created_by,
        name=name,
        token_hash=tokens.token_hash(device_token),
        decision_key=decision_key,
    )
    record.used_at, record.device = now, device
    record.save(update_fields=["used_at", "device"])
    actor = record.created_by.public_id if record.created_by else SYSTEM
    audit.append(record.org, Event.DEVICE_ENROLLED, actor, device.public_id, {"name": name})
    return Enrolled(device, device_token, decision_key)


def device_for_token(token: str) -> Device:
    """The active device a bearer token belongs to; ``DeviceError`` otherwise.

    Looked up across organizations on purpose: the token is what says which
    device, and so which organization, is calling.
    """
    device = (
        Device.objects.select_related("org").filter(token_hash=tokens.token_hash(token)).first()
    )
    if device is None:
        raise DeviceError("invalid_device_token", "This device token is not valid.", 401)
    if device.revoked_at is not None:
        raise DeviceError("device_revoked", "This device was revoked.", 401)
    if device.frozen_at is not None:
        raise DeviceError(
            "device_frozen", "This device is frozen until an admin unfreezes it.", 403
        )
    return device


def touch(device: Device) -> None:
    """Record that ``device`` was seen: at most one write a minute."""
    rows = Device.objects.filter(pk=device.pk)
    device.last_seen_at = tokens.note_use(rows, "last_seen_at", device.last_seen_at)


def _locked(device: Device) -> Device:
    """``device`` afresh, locked for a change that is audited, in the one lock order.

    The org's chain lock first (as every change that appends takes it), then the
    row ``FOR NO KEY UPDATE``: a handoff being committed checks its foreign key
    to this row at COMMIT, while holding the chain lock, and must not wait here.
    """
    audit.hold_chain(device.org_id)
    return (
        Device.objects.select_for_update(of=("self",), no_key=True)
        .select_related("org")
        .get(pk=device.pk)
    )


@transaction.atomic
def revoke(device: Device, *, actor: str) -> Device:
    """Revoke for good: the token stops authenticating and the key stops signing."""
    current = _locked(device)
    if current.revoked_at is None:
        current.revoked_at = timezone.now()
        current.save(update_fields=["revoked_at"])
        audit.append(current.org, Event.DEVICE_REVOKED, actor, current.public_id)
    return current


@transaction.atomic
def freeze(device: Device, *, actor: str, reason: str) -> Device:
    """Stop a device until an admin unfreezes it; ``reason`` is a short code."""
    if not FREEZE_REASON.match(reason):
        raise ValueError("a freeze reason is a short snake_case code")
    current = _locked(device)
    if current.revoked_at is None and current.frozen_at is None:
        current.frozen_at, current.frozen_reason = timezone.now(), reason
        current.save(update_fields=["frozen_at", "frozen_reason"])
        audit.append(current.org, Event.DEVICE_FROZEN, actor, current.public_id, {"reason": reason})
    return current


@transaction.atomic
def unfreeze(device: Device, *, actor: str) -> Device:
    current = _locked(device)
    if current.frozen_at is not None and current.revoked_at is None:
        current.frozen_at, current.frozen_reason = None, ""
        current.save(update_fields=["frozen_at", "frozen_reason"])
        audit.append(current.org, Event.DEVICE_UNFROZEN, actor, current.public_id)
    return current


def signing_key(device: Device) -> bytes:
    """``device``'s decision key, refusing a revoked or frozen device.

    The device's state is read afresh, so a revocation that committed a moment
    ago already stops signing.
    """
    current = Device.objects.filter(pk=device.pk).values("revoked_at", "frozen_at").get()
    if current["revoked_at"] is not None or current["frozen_at"] is not None:
        raise DeviceError("device_inactive", "A revoked or frozen device gets no verdicts.", 403)
    return device.decision_key_bytes


def sign_verdict(device: Device, unsigned: dict[str, Any]) -> dict[str, Any]:
    """Sign ``unsigned`` with ``device``'s key, refusing a revoked or frozen device."""
    if unsigned.get("device_id") != device.public_id:
        raise ValueError("a verdict is signed only for its own device")
    return verdicts.sign(signing_key(device), unsigned)
