"""The Celery app: ``celery -A ony worker`` and ``celery -A ony beat``.

Configured from Django settings prefixed ``CELERY_``. Without ``REDIS_URL``
tasks run in-process as they are enqueued (the embedded mode).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ony.settings")

app = Celery("ony")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
