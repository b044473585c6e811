"""Scale out: two web nodes and one worker against one PostgreSQL and one Redis.

A decision taken through node A wakes the agent waiting on node B at once
(through Redis), and a deadline that every node and the worker notice at the
same moment fires once.
"""

from __future__ import annotations

import http.client
import json
import tempfile
import threading
import unittest
from contextlib import ExitStack
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.test import TransactionTestCase
from django.utils import timezone

from audit.events import SYSTEM
from audit.models import AuditEntry
from handoffs.models import Handoff, Status
from handoffs.tasks import expire_overdue
from ony import api_tokens
from ony import services as org_services
from ony.roles import Role
from tests.base import enroll_device, make_handoff
from tests.celery_worker import running_worker
from tests.servers import free_port, get, shared_database_env, start_gunicorn, until, waiting_now


def post(port: int, path: str, body: dict, headers: dict) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request(
            "POST", path, json.dumps(body), {**headers, "Content-Type": "application/json"}
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@unittest.skipUnless(
    connection.vendor == "postgresql" and settings.REDIS_URL, "needs PostgreSQL and Redis"
)
class TwoNodesTests(TransactionTestCase):
    def setUp(self) -> None:
        self.org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        self.bob = org_services.add_member(
            self.org, "bob@acme.test", actor=SYSTEM, role=Role.MEMBER
        )
        self.laptop = enroll_device(self.org)
        self.device = {"Authorization": f"Bearer {self.laptop.device_token}"}
        stack = ExitStack()
        self.addCleanup(stack.close)
        self.nodes = [self.start_node(stack) for _ in ("a", "b")]
        stack.enter_context(running_worker())

    def start_node(self, stack: ExitStack) -> int:
        port = free_port()
        env = {
            **shared_database_env(),
            "REDIS_URL": settings.REDIS_URL,
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "16",
        }
        log = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 - closed by the stack
        server = start_gunicorn(port, env, log)

        def stop() -> None:
            server.terminate()
            server.wait(40)
            connection.close()

        stack.callback(stop)
        until(lambda: get(port, "/healthz")[0] == 200, 60, f"node on {port} to start")
        return port

    def test_a_decision_through_one_node_wakes_the_agent_waiting_on_the_other(self):
        node_a, node_b = self.nodes
        handoff = make_handoff(self.laptop.device, "db.migrate")
        answer: dict[str, tuple[int, bytes]] = {}

        def wait_on_b() -> None:
            path = f"/api/v1/handoffs/{handoff.public_id}/verdict?wait=30"
            answer["b"] = get(node_b, path, self.device, 60)

        waiter = threading.Thread(target=wait_on_b)
        waiter.start()
        until(lambda: waiting_now(node_b) == 1, 20, "the agent to wait on node B")
        _, token = api_tokens.create(self.bob.person, "nodes")
        status, _ = post(
            node_a,
            f"/api/v1/handoffs/{handoff.public_id}/decision",
            {"decision": "approve"},
            {"Authorization": f"Token {token}"},
        )
        self.assertEqual(status, 200)
        # Woken, not timed out: the wait ends well before its 30 seconds.
        until(lambda: waiting_now(node_b) == 0, 10, "node B's waiter to wake")
        waiter.join(30)
        status, body = answer["b"]
        self.assertEqual((status, json.loads(body)["status"]), (200, "approved"))

    def test_a_deadline_every_node_and_the_worker_notice_at_once_fires_once(self):
        handoff = make_handoff(self.laptop.device, "db.migrate")
        Handoff.objects.filter(pk=handoff.pk).update(deadline=timezone.now() - timedelta(seconds=1))
        path = f"/api/v1/handoffs/{handoff.public_id}"
        reads = [
            threading.Thread(target=get, args=(node, path, self.device, 30)) for node in self.nodes
        ]
        for read in reads:
            read.start()
        swept = expire_overdue.delay()
        for read in reads:
            read.join(30)
        swept.get(timeout=30)
        handoff.refresh_from_db()
        self.assertEqual(handoff.status, Status.EXPIRED)
        trail = AuditEntry.objects.for_org(self.org).filter(subject=handoff.public_id)
        self.assertEqual(
            sorted(trail.values_list("event", flat=True)), ["handoff.created", "handoff.expired"]
        )
