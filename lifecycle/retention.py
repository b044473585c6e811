"""Retention: payloads scrubbed, call and chat details pruned, after each org's periods.

A payload (an agent's diff, log or command) is kept for the org's
``payload_retention_days``: then its ciphertext is deleted and its SHA-256
kept, so the chain and exports still prove what was attached. Call attempts
and chat messages (who was called or messaged, when, with what outcome, and
the chat ids the messages went to) are kept for ``detail_retention_days``;
the chain's ``call.*`` and ``chat.*`` entries stay. Handoff rows and audit
entries are never deleted.

Work goes in batches of ``batch_size`` rows by primary key, each in its own
transaction, so memory stays bounded and no lock is held for long. Each run
that changed something is audited per org (``payload.scrubbed``, counts
only); every run is recorded in ``RetentionStatus`` for the dashboard.
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
from chat.models import ChatMessage, MessageStatus
from handoffs.models import Handoff, Status
from lifecycle.models import RetentionStatus
from ony.models import Organization
from ony.queue import enqueue
from telephony.models import ENDED, CallAttempt

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
#: Chat messages that will not change any more.
CHAT_DONE = (MessageStatus.CLOSED, MessageStatus.SKIPPED, MessageStatus.FAILED)
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
    """Handoffs of ``org`` whose payload is older than the org's payload retention."""
    cutoff = now - timedelta(days=org.payload_retention_days)
    return (
        Handoff.objects.for_org(org)
        .filter(created_at__lt=cutoff, payload__isnull=False)
        .exclude(status=Status.PENDING)
    )


def call_attempts_due(org: Organization, now: datetime) -> QuerySet[CallAttempt]:
    """Ended call attempts of ``org`` older than the org's detail retention."""
    cutoff = now - timedelta(days=org.detail_retention_days)
    return CallAttempt.objects.for_org(org).filter(created_at__lt=cutoff, status__in=ENDED)


def chat_messages_due(org: Organization, now: datetime) -> QuerySet[ChatMessage]:
    """Finished chat messages of ``org`` older than the org's detail retention."""
    cutoff = now - timedelta(days=org.detail_retention_days)
    return ChatMessage.objects.for_org(org).filter(created_at__lt=cutoff, status__in=CHAT_DONE)


def apply(
    org: Organization,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> Counts:
    """Scrub and prune what ``org``'s retention periods say is due at ``now``.

    A dry run counts and changes nothing (not even the status row). A run
    that finds nothing due changes no data and appends nothing to the chain:
    running it again is harmless.
    """
    now = now or timezone.now()
    if dry_run:
        return Counts(
            payloads_due(org, now).count(),
            call_attempts_due(org, now).count(),
            chat_messages_due(org, now).count(),
        )
    payloads = _in_batches(
        payloads_due(org, now),
        lambda rows: rows.update(payload=None, payload_scrubbed_at=now),
        batch_size,
    )
    calls = _in_batches(call_attempts_due(org, now), _delete, batch_size)
    chats = _in_batches(chat_messages_due(org, now), _delete, batch_size)
    counts = Counts(payloads, calls, chats)
    with transaction.atomic():
        if counts.changed:
            audit.append(
                org,
                Event.PAYLOAD_SCRUBBED,
                SYSTEM,
                "",
                {
                    "scrubbed": counts.payloads,
                    "calls_pruned": counts.call_attempts,
                    "chats_pruned": counts.chat_messages,
                    "payload_days": org.payload_retention_days,
                    "detail_days": org.detail_retention_days,
                },
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
    latest = RetentionStatus.objects.order_by("ran_at").values_list("ran_at", flat=True).first()
    missing = RetentionStatus.objects.count() < Organization.objects.count()
    due = missing or latest is None or latest < timezone.now() - EMBEDDED_INTERVAL
    if due and cache.add("ony:retention:embedded", 1, timeout=3600):
        enqueue("lifecycle.apply_retention", background=True)


def _delete(rows: QuerySet) -> int:
    return rows.delete()[1].get(rows.model._meta.label, 0)


def _in_batches(due: QuerySet, change: Callable[[QuerySet], int], batch_size: int) -> int:
    """Apply ``change`` to the rows of ``due``, ``batch_size`` at a time; how many changed."""
    changed, after = 0, 0
    while True:
        ids = list(
            due.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return changed
        with transaction.atomic():
            changed += change(due.filter(pk__in=ids))
        after = ids[-1]
