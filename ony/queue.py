"""Enqueueing Celery tasks by name, once the caller's transaction commits.

Services enqueue tasks through ``enqueue`` and never import a ``tasks``
module: tasks import services (a task takes ids and calls one service
function), so the dependency runs one way. The name is the task's registered
name (``@shared_task(name=...)``); an unknown name raises ``KeyError`` at once
rather than queueing a message no worker understands.

In the embedded mode (no broker, ``CELERY_TASK_ALWAYS_EAGER``) Celery runs a
task the moment it is sent and ignores ``countdown`` and ``eta``. A task meant
for later (a retry's delay, a round's pause, a deadline) would then run at
once, inside the task that sent it: a provider failing every call turns into
unbounded recursion. Such tasks run on a timer thread instead, when they are
due (``ONY_EAGER_TIMERS``).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from celery import Task, current_app
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def enqueue(
    name: str,
    *args: Any,
    countdown: float | None = None,
    eta: datetime | None = None,
    background: bool = False,
) -> None:
    """Send task ``name`` with ``args`` once the current transaction commits.

    Outside a transaction it is sent at once. In the embedded mode it runs
    in-process: at once, or on a timer thread when it is due later, or (with
    ``background``, for a task that waits on another service) on a thread of
    its own at once, so that the request that sent it does not wait.
    """
    task = current_app.tasks[name]
    delay = _seconds_until(countdown, eta)
    threaded = delay > 0 or background
    if settings.CELERY_TASK_ALWAYS_EAGER and threaded and settings.ONY_EAGER_TIMERS:
        transaction.on_commit(lambda: _run_later(task, args, max(delay, 0.0)))
        return
    # Only the options given: None is Celery's default for both, but its stubs take no None.
    options: dict[str, Any] = {}
    if countdown is not None:
        options["countdown"] = countdown
    if eta is not None:
        options["eta"] = eta
    transaction.on_commit(lambda: _send(task, args, options))


def _send(task: Task, args: tuple[Any, ...], options: dict[str, Any]) -> None:
    """Hand ``task`` to the broker; if the broker cannot take it, say so and go on.

    This runs after the change committed: an exception here would answer 500
    for a change that took effect. What a lost task was for is picked up by
    beat's sweeps (a deadline by ``handoffs.expire_overdue``, the first call
    about a handoff by ``telephony.resume_escalations``).
    """
    try:
        task.apply_async(args, **options)
    except (KombuError, RedisError, OSError):
        logger.warning(
            "could not queue %s: the broker is unreachable; a sweep picks it up", task.name
        )


def _seconds_until(countdown: float | None, eta: datetime | None) -> float:
    if eta is not None:
        return (eta - timezone.now()).total_seconds()
    return countdown or 0.0


def _run_later(task: Task, args: tuple[Any, ...], delay: float) -> None:
    """Run ``task`` in-process after ``delay`` seconds, on a thread of its own."""

    def run() -> None:
        try:
            task.apply(args)
        finally:
            connections.close_all()  # this thread's, not the server's

    timer = threading.Timer(delay, run)
    timer.name = f"ony-later-{task.name}"
    timer.daemon = True
    timer.start()
