"""Tasks due later, in the embedded mode: on a timer, never at once inside the sender."""

from __future__ import annotations

import json
import threading
import time
import unittest
from unittest import mock

from celery import Task
from django.db import connection
from django.test import Client, TransactionTestCase, override_settings
from kombu.exceptions import OperationalError

from audit.events import SYSTEM
from audit.models import Checkpoint
from handoffs import services as handoffs
from handoffs.models import Handoff, Status
from ony import services as org_services
from ony.queue import enqueue
from ony.roles import Role
from telephony.models import CallAttempt
from tests.base import OnyTestCase, bearer, enroll_device
from tests.servers import until


def stop_timers() -> None:
    """Cancel the timers still waiting (a handoff's deadline, ten minutes off): none may fire
    into a later test's rows."""
    for thread in threading.enumerate():
        if thread.name.startswith("ony-later-") and isinstance(thread, threading.Timer):
            thread.cancel()
            thread.join(10)


@override_settings(CELERY_TASK_ALWAYS_EAGER=True, ONY_EAGER_TIMERS=True)
class EagerTimerTests(TransactionTestCase):
    def setUp(self) -> None:
        self.acme = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        self.addCleanup(stop_timers)

    def test_a_task_due_later_runs_when_due_not_at_once(self):
        enqueue("audit.checkpoint_chains", countdown=0.5)
        self.assertFalse(Checkpoint.objects.exists())
        until(lambda: Checkpoint.objects.exists(), 10, "the checkpoint task")

    @unittest.skipUnless(
        connection.vendor == "postgresql",
        "timer threads and the test use the database at once (PostgreSQL)",
    )
    @override_settings(
        ONY_TELEPHONY_SIMULATOR=True,
        SIGNALWIRE_PROJECT="",
        ONY_TELEPHONY_API_URL="",
        ONY_PUBLIC_URL="http://127.0.0.1:9",  # nothing answers: every call fails
        ONY_CALL_RETRY_DELAYS=[0.2, 0.2],
        ONY_CALL_ROUND_PAUSE=0.3,
    )
    def test_a_provider_failing_every_call_is_retried_later_not_in_a_loop(self):
        org_services.add_member(
            self.acme, "alice@acme.test", actor=SYSTEM, role=Role.ADMIN,
            phone="+14155550101", oncall_order=1,
        )  # fmt: skip
        laptop = enroll_device(self.acme)
        body = {"action": "db.migrate", "target": "orders-db", "title": "t"}
        body |= {"agent_session_id": "s", "nonce": "eager-timer-0001"}
        r = Client().post(
            "/api/v1/handoffs", json.dumps(body), content_type="application/json",
            **bearer(laptop.device_token),
        )  # fmt: skip
        self.assertEqual(r.status_code, 201, r.content)
        handoff = Handoff.objects.get()
        until(lambda: CallAttempt.objects.filter(ended_at__isnull=False).exists(), 10, "a retry")
        self.assertEqual(handoff.status, Status.PENDING)
        handoffs.cancel(laptop.device, handoff)  # the escalation stops with the request
        time.sleep(1)
        settled = CallAttempt.objects.count()
        time.sleep(1)
        self.assertEqual(CallAttempt.objects.count(), settled)


class BrokerDownTests(OnyTestCase):
    """The broker refuses a task after the change committed: never a 500 for that change."""

    def test_a_committed_request_answers_as_usual_and_says_what_was_not_queued(self):
        laptop = enroll_device(self.acme)
        body = {
            "action": "db.migrate",
            "target": "orders-db",
            "title": "Migrate",
            "agent_session_id": "s",
            "nonce": "broker-down-0001",
        }
        refused = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        with (
            mock.patch.object(Task, "apply_async", side_effect=refused),
            self.assertLogs("ony.queue", "WARNING") as logged,
            self.captureOnCommitCallbacks(execute=True),
        ):
            r = Client().post(
                "/api/v1/handoffs",
                json.dumps(body),
                content_type="application/json",
                **bearer(laptop.device_token),
            )
        self.assertEqual(r.status_code, 201, r.content)
        self.assertEqual(Handoff.objects.get().status, Status.PENDING)  # stored, to be swept
        self.assertIn("could not queue", logged.output[0])
