"""Prometheus metrics for approval calls: closed-enum labels only (no numbers, names or ids)."""

from __future__ import annotations

from django.db import transaction
from prometheus_client import Counter

from handoffs.metrics import closed
from telephony.models import CallStatus, Outcome

ENDED = Counter(
    "ony_calls_ended_total",
    "Approval calls ended, by final status and outcome.",
    ["status", "outcome"],
)
STATUSES = frozenset(CallStatus.values)
OUTCOMES = frozenset(value or "none" for value in Outcome.values)


def call_ended(status: str, outcome: str) -> None:
    """Count a call's end once the transaction that recorded it commits."""
    labels = (closed(status, STATUSES), closed(outcome or "none", OUTCOMES))
    transaction.on_commit(lambda: ENDED.labels(*labels).inc())
