"""Enqueueing Celery tasks by name, once the caller's transaction commits.

Services enqueue tasks through ``enqueue`` and never import a ``tasks``
module: tasks import services (a task takes ids and calls one service
function), so the dependency runs one way. The name is the task's registered
name (``@shared_task(name=...)``); an unknown name raises ``KeyError`` at once
rather than queueing a message no worker understands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from celery import current_app
from django.db import transaction


def enqueue(
    name: str, *args: Any, countdown: float | None = None, eta: datetime | None = None
) -> None:
    """Send task ``name`` with ``args`` once the current transaction commits.

    Outside a transaction it is sent at once. In the embedded mode (no
    broker) the task runs in-process then, as every ``apply_async`` does.
    """
    task = current_app.tasks[name]
    # Only the options given: None is Celery's default for both, but its stubs take no None.
    options: dict[str, Any] = {}
    if countdown is not None:
        options["countdown"] = countdown
    if eta is not None:
        options["eta"] = eta
    transaction.on_commit(lambda: task.apply_async(args, **options))
