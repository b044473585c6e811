"""A task that logs what it is given, for tests of a real worker's log output.

Loaded only into the worker those tests start (``celery worker --include``),
on a queue of its own.
"""

from __future__ import annotations

import logging

from celery import shared_task

QUEUE = "ony-log-probe"
logger = logging.getLogger("ony.log_probe")


@shared_task(name="tests.log_text")
def log_text(text: str) -> None:
    logger.warning("probe says: %s", text)
