"""The Celery app: ``celery -A ony worker`` and ``celery -A ony beat``.

Configured from Django settings prefixed ``CELERY_``. Without ``REDIS_URL``
tasks run in-process as they are enqueued (the embedded mode). Every app's
``tasks`` module is imported once Django is ready (``OnyConfig.ready``), in
the web process as in the worker, so services can enqueue tasks by name
(``ony.queue``).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ony.settings")

app = Celery("ony")
app.config_from_object("django.conf:settings", namespace="CELERY")
