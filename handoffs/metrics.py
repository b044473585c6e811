"""Prometheus metrics for handoffs. Labels are closed enums only: no ids, names or numbers.

Counted when the transaction commits, so a rolled-back decision counts for
nothing. Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR
(docs/self-hosting.md) so that /metrics adds up every worker.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from prometheus_client import Counter, Histogram

from handoffs.taxonomy import Risk
from ony.connector.verdict import DECIDED_VIA, DECISIONS

RISKS = frozenset(r.label for r in Risk)

CREATED = Counter("ony_handoffs_created_total", "Handoffs created, by the server's risk.", ["risk"])
DECIDED = Counter(
    "ony_handoffs_decided_total",
    "Handoffs decided, by risk, decision and channel.",
    ["risk", "decision", "channel"],
)
LATENCY = Histogram(
    "ony_handoff_decision_seconds",
    "Time from a handoff's creation to its decision, by risk and channel.",
    ["risk", "channel"],
    buckets=(0.05, 0.25, 1, 5, 15, 30, 60, 120, 300, 600, 900),
)


def closed(value: str, allowed: frozenset[str]) -> str:
    """A label value from a closed set (anything else is a bug, and is not exported)."""
    if value not in allowed:
        raise ValueError(f"{value!r} is not an allowed label value")
    return value


def handoff_created(risk: str) -> None:
    label = closed(risk, RISKS)
    transaction.on_commit(lambda: CREATED.labels(label).inc())


def handoff_decided(
    risk: str, decision: str, channel: str, created: datetime, decided: datetime
) -> None:
    labels = (closed(risk, RISKS), closed(decision, DECISIONS), closed(channel, DECIDED_VIA))
    seconds = max(0.0, (decided - created).total_seconds())

    def record() -> None:
        DECIDED.labels(*labels).inc()
        LATENCY.labels(labels[0], labels[2]).observe(seconds)

    transaction.on_commit(record)
