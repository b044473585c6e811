"""The shared cache (Redis in production), with a stand-in of this process while it is down.

Rate windows, wait slots and replay marks live in the shared cache so every
process counts the same. When Redis cannot be reached, ``shared`` answers
from a cache of this process rather than failing the request: limits then
hold per process (looser for a while, never absent), replay marks are
remembered per process, and nothing answers 500 for it. A warning says so,
at most once a minute per process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: This process's stand-in, used only while the shared cache fails.
LOCAL = LocMemCache("ony-shared-cache-stand-in", {"OPTIONS": {"MAX_ENTRIES": 10000}})
WARN_EVERY_SECONDS = 60.0
_last_warning = 0.0


def shared_on(operation: Callable[[BaseCache], T]) -> tuple[T, BaseCache]:
    """``operation`` on the shared cache, or on this process's stand-in if Redis fails;
    with the cache that answered (to undo the operation on the same one)."""
    try:
        return operation(cache), cache
    except RedisError as exc:
        global _last_warning
        if time.monotonic() - _last_warning > WARN_EVERY_SECONDS:
            _last_warning = time.monotonic()
            logger.warning("the shared cache is unreachable (%s); counting in this process", exc)
        return operation(LOCAL), LOCAL


def shared(operation: Callable[[BaseCache], T]) -> T:
    """``operation`` on the shared cache, or on this process's stand-in if Redis fails."""
    return shared_on(operation)[0]


def increment(cache: BaseCache, key: str, timeout: int) -> int:
    """Add one to the counter ``key`` in ``cache`` (made, living ``timeout`` s, if missing);
    its new value."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr: a new count
        cache.add(key, 1, timeout=timeout)
        return 1


class SharedCache:
    """The ``get``/``set`` of a cache, through ``shared``: for DRF's throttles (``cache =``)."""

    def get(self, key: str, default: Any = None) -> Any:
        return shared(lambda c: c.get(key, default))

    def set(self, key: str, value: Any, timeout: Any = None) -> None:
        shared(lambda c: c.set(key, value, timeout))
