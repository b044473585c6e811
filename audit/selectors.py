"""Reads of the audit records for the API (verification has its own module)."""

from __future__ import annotations

from audit.models import Checkpoint
from ony.models import Organization


def latest_checkpoint(org: Organization) -> Checkpoint | None:
    """The newest signed checkpoint of ``org``'s chain, if one was made."""
    return Checkpoint.objects.for_org(org).order_by("-seq").first()
