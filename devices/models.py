"""Devices (an agent's machine, with its own credentials) and enrollment tokens."""

from __future__ import annotations

import base64

from django.db import models

from ony import ids
from ony.encryption import EncryptedTextField
from ony.models import Membership, Organization, OrgOwned
from ony.models.invitations import OneTimeToken


class Device(OrgOwned):
    """A machine an agent runs on.

    It authenticates with a bearer token (only its SHA-256 is stored) and its
    verdicts are signed with its own decision key (encrypted at rest, never
    shown again after enrollment). A revoked device is gone for good; a frozen
    one ("I did not expect this") waits for an admin to unfreeze it.
    """

    public_id = models.CharField(max_length=16, unique=True, default=ids.device_id, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="devices")
    owner = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    decision_key = EncryptedTextField(editable=False, help_text="base64url, encrypted at rest")
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    frozen_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["org", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.frozen_at:
            return "frozen"
        return "active"

    @property
    def decision_key_bytes(self) -> bytes:
        return base64.urlsafe_b64decode(self.decision_key + "=" * (-len(self.decision_key) % 4))


class EnrollmentToken(OneTimeToken):
    """A one-time, short-lived secret that lets one machine enroll as a device of ``org``."""

    org = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="enrollment_tokens"
    )
    used_at = models.DateTimeField(null=True, blank=True)
    device = models.OneToOneField(
        Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="enrollment"
    )

    class Meta(OneTimeToken.Meta):
        pass

    def __str__(self) -> str:
        return f"enrollment token of {self.org} ({self.created_at:%Y-%m-%d %H:%M})"
