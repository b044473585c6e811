"""Bearer tokens: a recognisable prefix, stored only as SHA-256, their use noted sparingly.

Device tokens, enrollment tokens and personal API tokens all work this way.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

#: A token's last use is written at most this often.
USE_RESOLUTION = timedelta(minutes=1)


def new_token(prefix: str) -> str:
    """A fresh bearer token; the prefix lets secret scanners recognise a leaked one."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def note_use(rows: QuerySet, field: str, last: datetime | None) -> datetime | None:
    """Set ``field`` to now on ``rows`` unless it was set within the last minute.

    ``last`` is the value already read, so a recent one costs no query; the
    UPDATE is conditional too, so concurrent requests write once. Returns the
    value ``field`` now has, as far as this caller knows.
    """
    now = timezone.now()
    if last is not None and now - last < USE_RESOLUTION:
        return last
    stale = Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": now - USE_RESOLUTION})
    rows.filter(stale).update(**{field: now})
    return now
