"""What the data lifecycle records about itself: when retention last ran for each org."""

from __future__ import annotations

from django.db import models

from ony.models import Organization, OrgOwned


class RetentionStatus(OrgOwned):
    """When retention last ran for an organization and what it did (one row per org).

    Written by every run that changes data or not (``lifecycle.retention``);
    the audit chain records each run that scrubbed or pruned something
    (``payload.scrubbed``), this row is for the dashboard.
    """

    org = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="retention_status"
    )
    ran_at = models.DateTimeField()
    payloads = models.PositiveIntegerField(help_text="Payloads scrubbed by the last run.")
    call_attempts = models.PositiveIntegerField(help_text="Call details pruned by the last run.")
    chat_messages = models.PositiveIntegerField(help_text="Chat details pruned by the last run.")

    class Meta:
        verbose_name_plural = "retention statuses"

    def __str__(self) -> str:
        return f"{self.org}: retention ran at {self.ran_at}"
