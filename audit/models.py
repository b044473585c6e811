"""Audit entries and signed checkpoints: append-only rows, one chain per organization."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from django.db import models

from audit.chain import show_hash
from audit.events import Event
from ony.models import Organization, OrgOwned


class AppendOnlyModel(OrgOwned):
    """Rows are inserted once and never changed or deleted through the ORM.

    On PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE as well
    (migration 0002); this guards the ORM path on every database.
    """

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError(f"{type(self).__name__} rows are append-only")


class AuditEntry(AppendOnlyModel):
    """One link of an organization's chain.

    ``canonical`` is the exact text that was hashed; ``event``, ``actor``,
    ``subject`` and ``created_at`` repeat parts of it for searching and are
    checked against it on verification.
    """

    # No index of its own: the unique (org, seq) index serves org lookups, and
    # one index fewer to maintain inside the chain lock is a faster append.
    # No database foreign key either: PostgreSQL checks one when the
    # transaction commits, which for an entry is inside the chain lock (about
    # 0.1 ms of a 1.5 ms critical section, docs/PERFORMANCE.md). What it
    # guaranteed, that an organization with a chain cannot be deleted, a
    # trigger on the organization table keeps (migration 0003). append() is
    # given the organization itself, so the id it writes names a real one.
    org = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="audit_entries",
        db_index=False,
        db_constraint=False,
    )
    seq = models.PositiveBigIntegerField()
    key_id = models.CharField(max_length=32)
    canonical = models.TextField()
    prev_hash = models.BinaryField(max_length=32)
    hash = models.BinaryField(max_length=32)
    event = models.CharField(max_length=40, choices=[(e.value, e.value) for e in Event])
    actor = models.CharField(max_length=40)
    subject = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["org", "seq"]
        verbose_name_plural = "audit entries"
        constraints = [
            models.UniqueConstraint(fields=["org", "seq"], name="audit_entry_unique_seq")
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event}"

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.canonical)["data"]

    @property
    def prev_hash_display(self) -> str:
        return show_hash(bytes(self.prev_hash))

    @property
    def hash_hex(self) -> str:
        return bytes(self.hash).hex()


class Checkpoint(AppendOnlyModel):
    """An Ed25519-signed note of a chain's head: ``{"v","org","seq","hash","at"}``.

    ``note`` is the exact canonical text that was signed; ``signature`` its
    base64 Ed25519 signature over ``b"ony-checkpoint-v1\\n" + note``.
    """

    org = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="checkpoints", db_index=False
    )
    seq = models.PositiveBigIntegerField()
    hash = models.BinaryField(max_length=32)
    note = models.TextField()
    signature = models.CharField(max_length=100)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["org", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["org", "seq"], name="audit_checkpoint_unique_seq")
        ]

    def __str__(self) -> str:
        return f"checkpoint at #{self.seq}"

    def as_note(self) -> dict[str, Any]:
        """The signed note as published to devices and auditors."""
        return {**json.loads(self.note), "signature": self.signature}


class ChainStatus(OrgOwned):
    """How an organization's chain last verified, for the dashboard (one row per org).

    Written by every verification (``audit.verification.verify_org``): the
    verify page, ``manage.py verify_chain`` and beat's hourly
    ``audit.verify_chains``. It records a result; the chain is the proof.
    """

    org = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="chain_status")
    verified_at = models.DateTimeField()
    ok = models.BooleanField()
    entries = models.PositiveBigIntegerField()
    checkpoints = models.PositiveIntegerField(help_text="Signed checkpoints that matched.")
    failure = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "chain statuses"

    def __str__(self) -> str:
        return f"{self.org}: {'verified' if self.ok else 'BROKEN'} at {self.verified_at}"
