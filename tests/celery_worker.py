"""A real Celery worker, in a thread of the test process, for tests that enqueue tasks.

With REDIS_URL set (as in CI) tasks travel through Redis to this worker; in
the embedded mode they already run in-process and no worker is started.

The worker has its own database connection, so it sees committed rows only:
use it from a TransactionTestCase. (Celery's Django fixup also closes the
calling thread's connection when the worker starts.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker
from django.conf import settings

from ony.celery import app


@contextmanager
def running_worker() -> Iterator[None]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        yield
        return
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield
