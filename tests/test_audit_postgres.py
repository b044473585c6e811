"""On PostgreSQL: triggers keep audit rows append-only; concurrent appends stay one chain."""

from __future__ import annotations

import threading
import unittest

from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction
from django.test import TestCase, TransactionTestCase

from audit import services as audit
from audit.events import SYSTEM, Event
from audit.models import AuditEntry, Checkpoint
from audit.services import _insert
from audit.verification import verify_org
from ony import services
from ony.models import Organization

needs_postgres = unittest.skipUnless(connection.vendor == "postgresql", "PostgreSQL only")
REFUSED = (InternalError, ProgrammingError, IntegrityError)


@needs_postgres
class TriggerTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.org = services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        audit.append(cls.org, Event.DEVICE_ENROLLED, SYSTEM, "dev_aa11")
        audit.checkpoint(cls.org)

    def refused(self, statement: str, params: list | None = None) -> str:
        with self.assertRaises(REFUSED) as ctx, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
        return str(ctx.exception)

    def test_it_refuses_update(self):
        message = self.refused("UPDATE audit_auditentry SET event = 'org.updated'")
        self.assertIn("append-only", message)
        self.assertEqual(
            AuditEntry.objects.for_org(self.org).filter(event="org.updated").count(), 0
        )

    def test_it_refuses_delete(self):
        self.refused("DELETE FROM audit_auditentry")
        self.assertEqual(AuditEntry.objects.for_org(self.org).count(), 2)

    def test_it_guards_checkpoints_too(self):
        self.refused("UPDATE audit_checkpoint SET seq = 99")
        self.refused("DELETE FROM audit_checkpoint")
        self.assertEqual(Checkpoint.objects.for_org(self.org).get().seq, 2)

    def test_it_refuses_to_delete_or_renumber_an_organization_with_a_chain(self):
        # Audit entries have no database foreign key (migration 0003): a
        # trigger on the organization table keeps what one guaranteed.
        message = self.refused("DELETE FROM ony_organization WHERE id = %s", [self.org.pk])
        self.assertIn("audit chain", message)
        message = self.refused(
            "UPDATE ony_organization SET id = id + 1000 WHERE id = %s", [self.org.pk]
        )
        self.assertIn("audit chain", message)
        self.assertTrue(Organization.objects.filter(pk=self.org.pk).exists())
        self.assertEqual(AuditEntry.objects.for_org(self.org).count(), 2)
        self.assertTrue(verify_org(self.org).ok)

    def test_it_still_lets_an_organization_without_a_chain_go(self):
        bare = Organization.objects.create(name="Bare", slug="bare")
        with connection.cursor() as cursor:
            cursor.execute("UPDATE ony_organization SET name = 'Renamed' WHERE id = %s", [bare.pk])
            cursor.execute("DELETE FROM ony_organization WHERE id = %s", [bare.pk])
        self.assertFalse(Organization.objects.filter(pk=bare.pk).exists())

    def test_it_still_accepts_appends(self):
        audit.append(self.org, Event.DEVICE_REVOKED, SYSTEM, "dev_aa11")
        self.assertTrue(verify_org(self.org).ok)


@needs_postgres
class TruncateTests(TransactionTestCase):
    """TRUNCATE, on committed rows (inside a test transaction PostgreSQL refuses it anyway)."""

    def test_it_refuses_truncate(self):
        org = services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        with transaction.atomic():
            audit.checkpoint(org)
        for table in ("audit_auditentry", "audit_checkpoint"):
            with (
                self.subTest(table),
                self.assertRaises(REFUSED) as ctx,
                connection.cursor() as cursor,
            ):
                cursor.execute(f"TRUNCATE {table} CASCADE")
            self.assertIn("append-only", str(ctx.exception))
        self.assertEqual(AuditEntry.objects.for_org(org).count(), 1)
        self.assertEqual(Checkpoint.objects.for_org(org).count(), 1)


@needs_postgres
class ConcurrentAppendTests(TransactionTestCase):
    THREADS = 16
    PER_THREAD = 10

    def test_it_keeps_one_unbroken_chain_under_concurrent_appends(self):
        org = services.create_organization(name="Busy", slug="busy", actor=SYSTEM)
        barrier = threading.Barrier(self.THREADS)
        errors: list[BaseException] = []

        def writer(n: int) -> None:
            try:
                barrier.wait()
                for i in range(self.PER_THREAD):
                    with transaction.atomic():
                        audit.append(org, Event.DEVICE_ENROLLED, SYSTEM, f"dev_{n:02d}{i:02d}")
            except BaseException as exc:  # reported below, in the test's own thread
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(self.THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        self.assertEqual(errors, [])
        seqs = list(AuditEntry.objects.for_org(org).order_by("seq").values_list("seq", flat=True))
        total = 1 + self.THREADS * self.PER_THREAD  # org.created + the appends
        self.assertEqual(seqs, list(range(1, total + 1)))
        report = verify_org(org)
        self.assertTrue(report.ok, report.result.failure)
        self.assertEqual(report.result.entries, total)


@needs_postgres
class ErrorTranslationTests(TestCase):
    def test_it_raises_djangos_integrity_error_for_a_duplicate_seq(self):

        org = services.create_organization(name="Dup", slug="dup", actor=SYSTEM)
        entry = AuditEntry.objects.for_org(org).get()
        duplicate = AuditEntry(
            org_id=org.pk,
            seq=entry.seq,
            key_id=entry.key_id,
            canonical=entry.canonical,
            prev_hash=bytes(entry.prev_hash),
            hash=bytes(entry.hash),
            event=entry.event,
            actor=entry.actor,
            subject=entry.subject,
            created_at=entry.created_at,
        )
        with self.assertRaises(IntegrityError), transaction.atomic():
            _insert(connection, [duplicate])
