"""The Celery app: in-process without Redis, through Redis to a real worker with it."""

from __future__ import annotations

from django.conf import settings
from django.test import SimpleTestCase

from ony.celery import app
from tests.celery_worker import running_worker


@app.task(name="tests.multiply")
def multiply(x: int, y: int) -> int:
    return x * y


class CeleryTests(SimpleTestCase):
    def test_it_is_configured_from_django_settings(self):
        self.assertEqual(app.conf.task_always_eager, not settings.REDIS_URL)
        if settings.REDIS_URL:
            self.assertEqual(app.conf.broker_url, settings.REDIS_URL)

    def test_the_embedded_mode_says_nothing_about_a_missing_broker_host(self):
        if settings.REDIS_URL:
            self.skipTest("the embedded mode has no broker")
        with self.assertNoLogs("kombu", level="WARNING"):
            app.connection_for_write().clone()

    def test_beat_keeps_its_schedule_in_the_ignored_state_folder(self):
        state = settings.BASE_DIR / "var"
        self.assertEqual(app.conf.beat_schedule_filename, str(state / "celerybeat-schedule"))
        self.assertTrue(state.is_dir())  # in every checkout: beat cannot create it
        self.assertEqual((state / ".gitignore").read_text().splitlines()[1:], ["*", "!.gitignore"])

    def test_it_runs_a_task(self):
        with running_worker():
            result = multiply.delay(6, 7)
            self.assertEqual(result.get(timeout=20), 42)
