"""Fixed-window counters in the cache (Redis in production), shared by every process.

While Redis is down they count in each process instead (``ony.cache.shared``).

``allow`` counts one event under ``key`` in the current window and says
whether it is within the limit; ``first_refusal`` lets a caller record a
refusal once per window rather than once per refused request.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from ony.cache import increment, shared

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


class Rate(NamedTuple):
    limit: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"6/minute"`` -> ``Rate(limit=6, seconds=60)`` (DRF's syntax: s, m, h, d or words)."""
        count, _, period = text.partition("/")
        seconds = next((s for name, s in PERIODS.items() if name.startswith(period)), 0)
        if not count.isdigit() or not period or not seconds:
            raise ValueError(f"{text!r} is not a rate such as 6/minute")
        return cls(int(count), seconds)


def _window_key(key: str, rate: Rate) -> str:
    return f"ony:rate:{key}:{int(time.time()) // rate.seconds}"


def allow(key: str, rate: Rate) -> bool:
    """Count one event for ``key``; whether it is within ``rate`` in this window."""
    window_key = _window_key(key, rate)
    return shared(lambda cache: increment(cache, window_key, rate.seconds * 2)) <= rate.limit


def first_refusal(key: str, rate: Rate) -> bool:
    """True once per window for ``key``: to record a refusal once, not for every request."""
    window_key = _window_key(f"{key}:refused", rate)
    return shared(lambda cache: cache.add(window_key, 1, timeout=rate.seconds * 2))
