"""Handoffs: an agent's request to run one action, and its one decision."""

from __future__ import annotations

from django.db import models

from devices.models import Device
from ony import ids
from ony.encryption import EncryptedTextField
from ony.models import Membership, Organization, OrgOwned


class Status(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    DEFERRED = "deferred"  # decision "ask": the agent's own permission prompt decides
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Handoff(OrgOwned):
    """One request from one device. It leaves ``pending`` exactly once (``handoffs.services``)."""

    public_id = models.CharField(max_length=16, unique=True, default=ids.request_id, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="handoffs")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="handoffs")
    agent_session_id = models.CharField(max_length=128)
    action = models.CharField(max_length=100)
    target = models.CharField(max_length=255)
    risk = models.CharField(max_length=10, help_text="The server's risk (the taxonomy's).")
    risk_hint = models.CharField(max_length=10, blank=True, help_text="The agent's claim; unused.")
    hint_mismatch = models.BooleanField(default=False)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    options = models.JSONField(default=list, blank=True)
    payload = EncryptedTextField(null=True, blank=True)
    payload_sha256 = models.CharField(max_length=64, blank=True)
    payload_scrubbed_at = models.DateTimeField(
        null=True, blank=True, help_text="When retention deleted the payload (its SHA-256 stays)."
    )
    nonce = models.CharField(max_length=128)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    deadline = models.DateTimeField()
    decision = models.CharField(max_length=10, blank=True)
    decided_via = models.CharField(max_length=12, blank=True)
    decided_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    verdict = models.JSONField(null=True, blank=True, help_text="The signed verdict, once decided.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["device", "nonce"], name="handoff_unique_device_nonce")
        ]
        indexes = [models.Index(fields=["status", "deadline"], name="handoff_pending_deadline")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.action} on {self.target}"

    @property
    def has_payload(self) -> bool:
        """Whether the agent attached a payload (its SHA-256 stays after retention scrubs it)."""
        return bool(self.payload_sha256)
