"""Retention: payloads scrubbed, call and chat details pruned, after each org's periods.

A payload (an agent's diff, log or command) is kept for the org's
``payload_retention_days``: then its ciphertext is deleted and its SHA-256
kept, so the chain and exports still prove what was attached. Call attempts
and chat messages (who was called or messaged, when, with what outcome, and
the chat ids the messages went to) are kept for ``detail_retention_days``;
the chain's ``call.*`` and ``chat.*`` entries stay. Handoff rows and audit
entries are never deleted.

Work goes in batches of ``batch_size`` rows by primary key, each in its own
transaction with its own ``payload.scrubbed`` entry (counts only), so memory
stays bounded, no lock is held for long, and a run cut short leaves nothing
unaudited. Every run is recorded in ``RetentionStatus`` for the dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit import services as audit
from audit.events import SYSTEM, Event
from chat.models import ChatMessage
from handoffs.models import Handoff
from lifecycle.models import RetentionStatus
from ony.models import Organization
from ony.queue import enqueue
from telephony.models import CallAttempt

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
#: How often the embedded mode (no beat) runs retention, from the server.
EMBEDDED_INTERVAL = timedelta(days=1)


@dataclass(frozen=True)
class Counts:
    """What a run scrubbed and pruned in one organization (or would, in a dry run)."""

    payloads: int = 0
    call_attempts: int = 0
    chat_messages: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.payloads or self.call_attempts or self.chat_messages)


def payloads_due(org: Organization, now: datetime) -> QuerySet[Handoff]:
    """Handoffs of ``org`` whose payload is older than the org's payload retention.

    Never a handoff still waiting for a decision (its deadline is ahead).
    """
    cutoff = now - timedelta(days=org.payload_retention_days)
    return Handoff.objects.for_org(org).filter(
        created_at__lt=cutoff, deadline__lt=now, payload__isnull=False
    )


def call_attempts_due(org: Organization, now: datetime) -> QuerySet[CallAttempt]:
    """Call attempts of ``org`` older than the org's detail retention, about handoffs past
    their deadline: ended ones, and any a lost status callback left looking open."""
    cutoff = now - timedelta(days=org.detail_retention_days)
    return CallAttempt.objects.for_org(org).filter(created_at__lt=cutoff, handoff__deadline__lt=now)


def chat_messages_due(org: Organization, now: datetime) -> QuerySet[ChatMessage]:
    """Chat messages of ``org`` older than the org's detail retention, about handoffs past
    their deadline: finished ones, and any a lost task left looking unfinished."""
    cutoff = now - timedelta(days=org.detail_retention_days)
    return ChatMessage.objects.for_org(org).filter(created_at__lt=cutoff, handoff__deadline__lt=now)


def apply(
    org: Organization,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> Counts:
    """Scrub and prune what ``org``'s retention periods say is due at ``now``.

    Each batch commits with its own ``payload.scrubbed`` entry (its counts),
    so a run cut short leaves no change unaudited. A dry run counts and
    changes nothing (not even the status row). A run that finds nothing due
    changes no data and appends nothing to the chain: running it again is
    harmless.
    """
    now = now or timezone.now()
    if dry_run:
        return Counts(
            payloads_due(org, now).count(),
            call_attempts_due(org, now).count(),
            chat_messages_due(org, now).count(),
        )
    batches = Batches(org, batch_size)
    counts = Counts(
        payloads=batches.apply(
            payloads_due(org, now),
            lambda rows: rows.update(payload=None, payload_scrubbed_at=now),
            "scrubbed",
        ),
        call_attempts=batches.apply(call_attempts_due(org, now), _delete, "calls_pruned"),
        chat_messages=batches.apply(chat_messages_due(org, now), _delete, "chats_pruned"),
    )
    RetentionStatus.objects.update_or_create(
        org=org,
        defaults={
            "ran_at": now,
            "payloads": counts.payloads,
            "call_attempts": counts.call_attempts,
            "chat_messages": counts.chat_messages,
        },
    )
    return counts


def apply_all(*, now: datetime | None = None, dry_run: bool = False) -> dict[str, Counts]:
    """``apply`` for every organization, one at a time; counts by org slug."""
    return {
        org.slug: apply(org, now=now, dry_run=dry_run)
        for org in Organization.objects.order_by("pk").iterator()
    }


def run_if_due() -> None:
    """In the embedded mode (no beat), start a run in the background once a day.

    Called by the dashboard's index; with a broker it does nothing (beat runs
    ``lifecycle.apply_retention`` daily). A cache key keeps page loads from
    starting a second run while one is under way.
    """
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return
    # Installation-wide on purpose: one run covers every organization.
    oldest = RetentionStatus.objects.order_by("ran_at").values_list("ran_at", flat=True).first()
    missing = RetentionStatus.objects.count() < Organization.objects.count()
    due = missing or oldest is None or oldest < timezone.now() - EMBEDDED_INTERVAL
    if due and cache.add("ony:retention:embedded", 1, timeout=3600):
        enqueue("lifecycle.apply_retention", background=True)


def _delete(rows: QuerySet) -> int:
    return rows.delete()[1].get(rows.model._meta.label, 0)


@dataclass(frozen=True)
class Batches:
    """Changes to an org's rows, ``size`` at a time by primary key, each batch audited."""

    org: Organization
    size: int

    def apply(self, due: QuerySet, change: Callable[[QuerySet], int], counted_as: str) -> int:
        """Apply ``change`` to the rows of ``due``, a batch per transaction with its
        ``payload.scrubbed`` entry (``counted_as``: how many it changed); how many changed."""
        changed, after = 0, 0
        while True:
            ids = list(
                due.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[: self.size]
            )
            if not ids:
                return changed
            with transaction.atomic():
                done = change(due.filter(pk__in=ids))
                if done:
                    self._audit(counted_as, done)
            changed += done
            after = ids[-1]

    def _audit(self, counted_as: str, done: int) -> None:
        data = {"scrubbed": 0, "calls_pruned": 0, "chats_pruned": 0, counted_as: done}
        data["payload_days"] = self.org.payload_retention_days
        data["detail_days"] = self.org.detail_retention_days
        audit.append(self.org, Event.PAYLOAD_SCRUBBED, SYSTEM, "", data)
