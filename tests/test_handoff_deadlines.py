"""Deadlines: a task at each deadline, a beat sweep, and lazy expiry on read."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.test import TransactionTestCase
from django.utils import timezone

from audit.events import SYSTEM
from audit.models import AuditEntry
from handoffs.models import Handoff
from handoffs.tasks import expire_handoff, expire_overdue
from ony import services as org_services
from tests.base import OnyTestCase, enroll_device, make_handoff
from tests.celery_worker import running_worker


def pending(device, nonce):
    return make_handoff(device, "db.migrate", nonce=nonce, target="prod-db", title="Migrate")


class DeadlineTests(OnyTestCase):
    def setUp(self):
        self.laptop = enroll_device(self.acme).device

    def overdue(self, handoff):
        Handoff.objects.filter(pk=handoff.pk).update(deadline=timezone.now() - timedelta(seconds=1))

    def test_the_deadline_is_the_orgs_for_the_risk(self):
        handoff = pending(self.laptop, "deadline-1")
        seconds = (handoff.deadline - handoff.created_at).total_seconds()
        self.assertAlmostEqual(seconds, self.acme.deadline_seconds("high"), delta=2)

    def test_the_task_expires_only_past_the_deadline(self):
        handoff = pending(self.laptop, "deadline-2")
        self.assertEqual(expire_handoff(handoff.pk), "pending")
        self.overdue(handoff)
        self.assertEqual(expire_handoff(handoff.pk), "expired")
        self.assertEqual(expire_handoff(handoff.pk), "expired")  # idempotent
        self.assertEqual(expire_handoff(10**9), "gone")
        verdict = Handoff.objects.get(pk=handoff.pk).verdict
        self.assertEqual((verdict["decision"], verdict["decided_via"]), ("deny", "deadline"))
        self.assertEqual(
            AuditEntry.objects.for_org(self.acme).filter(event="handoff.expired").count(), 1
        )

    def test_the_sweep_expires_every_overdue_handoff_in_every_org(self):
        mine, later = pending(self.laptop, "deadline-3"), pending(self.laptop, "deadline-4")
        theirs = pending(enroll_device(self.globex).device, "deadline-5")
        self.overdue(mine)
        self.overdue(theirs)
        self.assertEqual(expire_overdue(), 2)
        statuses = dict(Handoff.objects.values_list("public_id", "status"))
        self.assertEqual(
            (statuses[mine.public_id], statuses[theirs.public_id], statuses[later.public_id]),
            ("expired", "expired", "pending"),
        )

    def test_it_is_swept_by_beat(self):
        schedule = settings.CELERY_BEAT_SCHEDULE["handoff-deadlines"]
        self.assertEqual(schedule["task"], "handoffs.expire_overdue")
        self.assertLessEqual(schedule["schedule"], 60)


class DeadlineWorkerTests(TransactionTestCase):
    """Through the broker to a real worker (Redis in CI)."""

    def test_a_worker_expires_an_overdue_handoff(self):
        org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        handoff = pending(enroll_device(org).device, "deadline-w")
        Handoff.objects.filter(pk=handoff.pk).update(deadline=timezone.now() - timedelta(seconds=1))
        with running_worker():
            self.assertEqual(expire_handoff.delay(handoff.pk).get(timeout=20), "expired")
        self.assertEqual(Handoff.objects.get(pk=handoff.pk).status, "expired")
