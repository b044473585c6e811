"""A real Celery worker keeps working when Redis, its broker, restarts under it.

It holds tasks due later when Redis goes (unacknowledged until due); kombu's
Redis transport then failed to give them back and stopped the worker, beat
with it (ony/broker.py). The broker here is a Redis of the test's own, on a
free port, killed and started again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from django.conf import settings
from django.test import SimpleTestCase

from tests.servers import ROOT, free_port, until

REDIS_SERVER = shutil.which("redis-server")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(10)


@unittest.skipUnless(settings.REDIS_URL and REDIS_SERVER, "needs Redis (and redis-server)")
class BrokerRestartTests(SimpleTestCase):
    def start_redis(self, port: int) -> subprocess.Popen:
        command = [str(REDIS_SERVER), "--port", str(port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(stop, server)
        return server

    def test_the_worker_survives_a_redis_restart_and_runs_the_next_task(self):
        port = free_port()
        url = f"redis://127.0.0.1:{port}/0"
        redis_server = self.start_redis(port)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": str(ROOT),
            "REDIS_URL": url,
        }
        command = [sys.executable, "-m", "celery", "-A", "ony", "worker", "--concurrency", "1"]
        command += ["--loglevel", "INFO", "--include", "tests.log_probe"]
        command += ["--without-mingle", "--without-gossip"]
        log = tempfile.TemporaryFile()  # noqa: SIM115 - closed at cleanup
        self.addCleanup(log.close)
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(stop, worker)

        def output() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")

        until(lambda: "ready." in output(), 60, "the worker to start")
        # Due later: the worker holds them, unacknowledged until they are due.
        self.send(env, "for n in range(3): send('later', countdown=600)")
        until(lambda: output().count("] received") >= 3, 30, "the worker to hold the tasks")

        redis_server.send_signal(signal.SIGKILL)
        redis_server.wait(10)
        until(lambda: "Connection to broker lost" in output(), 30, "the worker to notice")
        self.start_redis(port)

        self.send(env, "send('after the restart').get(timeout=60)")
        self.assertIsNone(worker.poll(), output()[-3000:])  # still running
        self.assertIn("probe says: after the restart", output())
        self.assertNotIn("Unrecoverable error", output())
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)

    def send(self, env: dict[str, str], code: str) -> None:
        """Run ``code`` in a process configured as a web process is, against this Redis."""
        script = (
            "import django; django.setup()\n"
            "from ony.celery import app\n"
            "def send(text, **options): "
            "return app.send_task('tests.log_text', args=[text], **options)\n" + code
        )
        sent = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(sent.returncode, 0, sent.stderr[-2000:])
