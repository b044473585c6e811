"""Waking long-polls the moment a handoff is decided: never a polling loop.

Each process keeps a registry of the requests it has waiters for. A decision
``publish``es its request id once the transaction commits. Without Redis
(the embedded mode: one process) that wakes the local waiters directly; with
Redis it goes out on pub/sub, and one listener thread per process, pattern-
subscribed to every handoff channel, wakes that process's waiters.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis
from django.conf import settings
from django.core.cache.backends.base import BaseCache
from prometheus_client import Gauge
from redis.exceptions import RedisError

from ony.cache import increment, shared_on

logger = logging.getLogger(__name__)
CHANNEL_PREFIX = "ony:handoff:"
WAITING = Gauge(
    "ony_verdict_waiters",
    "Verdict long-polls waiting now.",
    multiprocess_mode="livesum",
)
LISTENER_READY_TIMEOUT = 5.0


class Waiters:
    """Events of the threads waiting for each request id, in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, set[threading.Event]] = {}

    @contextmanager
    def waiting(self, request_id: str) -> Iterator[threading.Event]:
        event = threading.Event()
        with self._lock:
            self._events.setdefault(request_id, set()).add(event)
        WAITING.inc()
        try:
            yield event
        finally:
            WAITING.dec()
            with self._lock:
                events = self._events.get(request_id, set())
                events.discard(event)
                if not events:
                    self._events.pop(request_id, None)

    def wake(self, request_id: str) -> None:
        with self._lock:
            events = list(self._events.get(request_id, ()))
        for event in events:
            event.set()

    def wake_all(self) -> None:
        """Wake every waiter of this process, to look at the database again."""
        with self._lock:
            events = [event for events in self._events.values() for event in events]
        for event in events:
            event.set()

    def count(self) -> int:
        with self._lock:
            return sum(len(events) for events in self._events.values())


waiters = Waiters()


class RedisListener:
    """One thread per process, subscribed to every handoff channel, waking local waiters."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ready = threading.Event()
        self.stopped = threading.Event()
        self._pubsub: redis.client.PubSub | None = None
        self._thread = threading.Thread(target=self._run, name="ony-wakeup", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread (tests; a process's listener lives as long as the process)."""
        self.stopped.set()
        if self._pubsub is not None:
            with suppress(redis.RedisError, OSError):
                self._pubsub.close()
        self._thread.join(5)

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                self._pubsub = redis.Redis.from_url(self.url).pubsub()
                self._pubsub.psubscribe(CHANNEL_PREFIX + "*")
                for message in self._pubsub.listen():
                    if message["type"] == "psubscribe":
                        self.ready.set()
                        # Decisions published while it was away were lost: look again.
                        waiters.wake_all()
                    elif message["type"] == "pmessage":
                        waiters.wake(message["channel"].decode()[len(CHANNEL_PREFIX) :])
            except Exception:  # the thread must outlive anything Redis does
                # Not only RedisError: a connection cut mid-read can surface as
                # ValueError or AttributeError from redis-py's buffers (or ``stop``).
                if self.ready.is_set():
                    # Until it is back, waiters re-read the database every second:
                    # wake the ones already waiting for a message so that they do.
                    self.ready.clear()
                    waiters.wake_all()
                    logger.warning("wake-up listener lost Redis; reconnecting")
                self.stopped.wait(1)


_listener: RedisListener | None = None
_listener_lock = threading.Lock()


def _ensure_listener() -> None:
    global _listener
    if not settings.REDIS_URL:
        return
    with _listener_lock:
        if _listener is not None and _listener.url == settings.REDIS_URL:
            return  # connected or not: waiters re-read while it is not
        if _listener is not None:
            _listener.stop()
        _listener = RedisListener(settings.REDIS_URL)
    # Only a new listener is waited for (and not for long): while Redis is down
    # a wait must not pay this on every request.
    _listener.ready.wait(LISTENER_READY_TIMEOUT)


def listening() -> bool:
    """Whether a decision made in any process wakes this one's waiters now.

    Without Redis there is one process, and ``publish`` wakes it directly;
    with Redis, while the listener is connected.
    """
    return not settings.REDIS_URL or (_listener is not None and _listener.ready.is_set())


@contextmanager
def waiting(request_id: str) -> Iterator[threading.Event]:
    """Register for ``request_id``'s decision; check the database *inside* this block."""
    _ensure_listener()
    with waiters.waiting(request_id) as event:
        yield event


@functools.cache
def _publisher(url: str) -> redis.Redis:
    """One client (and connection pool) per process and URL: not a connection per decision."""
    return redis.Redis.from_url(url)


def publish(request_id: str) -> None:
    """Wake whoever waits for ``request_id``, in this process and (with Redis) every other."""
    waiters.wake(request_id)
    if settings.REDIS_URL:
        try:
            _publisher(settings.REDIS_URL).publish(CHANNEL_PREFIX + request_id, b"1")
        except redis.RedisError:
            logger.warning("could not publish a decision; waiters will find it when they re-read")


#: How long a device's count of open waits lives after the last slot it
#: granted: it outlives any wait (30 s at most), and corrects itself should
#: a process die mid-wait.
WAIT_SLOT_TTL_SECONDS = 75


@contextmanager
def wait_slot(device_pk: int, limit: int) -> Iterator[bool]:
    """Hold one of the ``limit`` wait slots of device ``device_pk``; yields whether one was free.

    The count lives in the cache (Redis: shared by every process), so the
    limit holds across web workers. Slots are given back when the block ends.
    """
    key = f"ony:waits:{device_pk}"

    def take(cache: BaseCache) -> bool:
        if increment(cache, key, WAIT_SLOT_TTL_SECONDS) <= limit:
            # Only a granted slot keeps the count alive: slots leaked by a dead
            # process would otherwise be kept for ever by a device that keeps
            # asking (and being refused).
            cache.touch(key, WAIT_SLOT_TTL_SECONDS)
            return True
        return False

    granted, counted_on = shared_on(take)
    try:
        yield granted
    finally:
        # Back where it was counted: expired meanwhile, or that cache (Redis) gone since,
        # and there is nothing to give back (the count expires by itself).
        with suppress(ValueError, RedisError):
            counted_on.decr(key)
