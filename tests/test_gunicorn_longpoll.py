"""One real gunicorn worker (gunicorn.conf.py) holds 200 verdict long-polls and wakes them all.

The decisions are made in this process; the waiters wait in gunicorn's, so the
wake-up crosses processes through Redis, as in production.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import unittest

from django.conf import settings
from django.db import connection
from django.test import TransactionTestCase

from audit.events import SYSTEM
from handoffs import services
from ony import services as org_services
from ony.roles import Role
from tests.base import enroll_device, make_handoff
from tests.servers import free_port, get, shared_database_env, start_gunicorn, until, waiting_now

WAITERS = 200
BATCH = 20


@unittest.skipUnless(
    connection.vendor == "postgresql" and settings.REDIS_URL, "needs PostgreSQL and Redis"
)
class GunicornLongPollTests(TransactionTestCase):
    def start_gunicorn(self, port: int, log) -> subprocess.Popen:
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        env = {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "256",
        }
        return start_gunicorn(port, env, log)

    def test_one_worker_holds_hundreds_of_waiters_and_wakes_them_all(self):
        org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        bob = org_services.add_member(org, "bob@acme.test", actor=SYSTEM, role=Role.MEMBER)
        laptop = enroll_device(org)
        handoffs = [
            make_handoff(laptop.device, nonce=f"gunicorn-wait-{n:04d}") for n in range(WAITERS)
        ]
        port = free_port()
        results: dict[str, tuple[int, dict]] = {}
        auth = {"Authorization": f"Bearer {laptop.device_token}"}

        def wait_for(request_id: str) -> None:
            status, body = get(port, f"/api/v1/handoffs/{request_id}/verdict?wait=30", auth, 60)
            results[request_id] = (status, json.loads(body) if body else {})

        with tempfile.TemporaryFile() as log:
            server = self.start_gunicorn(port, log)
            try:
                until(lambda: get(port, "/healthz")[0] == 200, 30, "gunicorn to start")
                threads = []
                for start in range(0, WAITERS, BATCH):
                    for handoff in handoffs[start : start + BATCH]:
                        thread = threading.Thread(target=wait_for, args=(handoff.public_id,))
                        thread.start()
                        threads.append(thread)
                    parked = start + BATCH
                    until(lambda n=parked: waiting_now(port) == n, 30, f"{parked} waiters")
                self.assertEqual(results, {})  # all 200 are waiting at once
                for handoff in handoffs:
                    services.decide(handoff, "approve", via="api", actor=bob.public_id, by=bob)
                for thread in threads:
                    thread.join(timeout=35)
                self.assertEqual(waiting_now(port), 0)
            finally:
                server.terminate()
                server.wait(timeout=40)
                connection.close()
            log.seek(0)
            server_log = log.read().decode(errors="replace")

        self.assertEqual(len(results), WAITERS, server_log[-2000:])
        statuses = {(status, body.get("status")) for status, body in results.values()}
        self.assertEqual(statuses, {(200, "approved")}, server_log[-2000:])


@unittest.skipUnless(connection.vendor == "postgresql", "needs PostgreSQL")
class GunicornWorkersTests(TransactionTestCase):
    def test_workers_each_have_their_own_database_connections(self):
        """The start-up check runs the database in the master; no worker may inherit it.

        Two workers sharing the master's pool interleave their queries on one
        PostgreSQL session: wrong rows for the wrong request, then a dead pool.
        """
        port = free_port()
        env = {**shared_database_env(), "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "8"}
        statuses: list[int] = []

        def hammer(n: int) -> None:
            for i in range(30):
                auth = {"Authorization": f"Bearer ony_dev_bogus{n}x{i}"}
                statuses.append(get(port, "/api/v1/device", auth, 15)[0])

        with tempfile.TemporaryFile() as log:
            server = start_gunicorn(port, env, log)
            try:
                until(lambda: get(port, "/healthz")[0] == 200, 30, "gunicorn to start")
                threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=120)
                self.assertEqual(get(port, "/readyz")[0], 200)
            finally:
                server.terminate()
                try:
                    server.wait(40)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(10)
        self.assertEqual(set(statuses), {401}, sorted(set(statuses)))
