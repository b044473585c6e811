"""Invitations: how a person joins an organization without anyone opening a shell."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from ony import ids
from ony.models.org import Membership, Organization
from ony.models.tenancy import OrgOwned
from ony.roles import Role


class OneTimeToken(OrgOwned):
    """A short-lived secret a member of ``org`` made; only its SHA-256 is stored."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        abstract = True
        ordering = ["-created_at"]


class Invitation(OneTimeToken):
    """A one-time link for ``email`` to join ``org`` with ``role``."""

    public_id = models.CharField(
        max_length=16, unique=True, default=ids.invitation_id, editable=False
    )
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta(OneTimeToken.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.email} to {self.org} ({self.role})"

    @property
    def usable(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()
