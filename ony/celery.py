"""The Celery app: ``celery -A ony worker`` and ``celery -A ony beat``.

Configured from Django settings prefixed ``CELERY_``. Without ``REDIS_URL``
tasks run in-process as they are enqueued (the embedded mode). Every app's
``tasks`` module is imported once Django is ready (``OnyConfig.ready``), in
the web process as in the worker, so services can enqueue tasks by name
(``ony.queue``).
"""

import logging
import os

from celery import Celery, signals
from django.conf import settings

from ony.logs import JsonLines, RequestIdFilter, current_request_id
from ony.redaction import RedactingFilter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ony.settings")

app = Celery("ony")
app.config_from_object("django.conf:settings", namespace="CELERY")


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def redact_worker_logs(logger: logging.Logger, **kwargs: object) -> None:
    """The worker and beat replace the root logger's handlers with their own at start-up
    (dropping Django's, which redact): give theirs the same filters (the task's id on
    each line, redaction) and, with ``LOG_FORMAT=json``, the same JSON lines."""
    for handler in logger.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
        if settings.LOG_FORMAT == "json":
            handler.setFormatter(JsonLines())


@signals.task_prerun.connect
def name_the_task_in_logs(task_id: str, **kwargs: object) -> None:
    """A task's log lines carry its id, as a request's carry the request's."""
    current_request_id.set(task_id)


@signals.task_postrun.connect
def forget_the_task_in_logs(**kwargs: object) -> None:
    current_request_id.set("-")
