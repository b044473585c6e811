"""Retention: payloads scrubbed and call and chat details pruned after each org's periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import TransactionTestCase, override_settings

from audit.events import SYSTEM
from audit.models import AuditEntry
from audit.verification import verify_org
from chat.models import ChatMessage, MessageStatus
from handoffs.models import Handoff, Status
from lifecycle import retention
from lifecycle.models import RetentionStatus
from lifecycle.tasks import apply_retention
from ony import services as org_services
from telephony.models import CallAttempt, CallStatus
from tests.base import OnyTestCase, enroll_device, make_handoff
from tests.celery_worker import running_worker
from tests.test_admin_roles import org_form

#: The clock every test reads: retention is given ``now``, never the wall clock.
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def aged(days: float, **fields: Any) -> dict[str, Any]:
    return {"created_at": NOW - timedelta(days=days), **fields}


class RetentionTestCase(OnyTestCase):
    def setUp(self) -> None:
        self.laptop = enroll_device(self.acme).device
        self.globex_laptop = enroll_device(self.globex).device

    def handoff(self, device, days: float, payload: str | None = "diff --git a/x b/x") -> Handoff:
        handoff = make_handoff(device, "db.migrate", payload=payload)
        created = NOW - timedelta(days=days)
        Handoff.objects.filter(pk=handoff.pk).update(
            created_at=created, deadline=created + timedelta(minutes=10), status=Status.APPROVED
        )
        return Handoff.objects.get(pk=handoff.pk)

    def call(self, handoff: Handoff, days: float, status: str = CallStatus.COMPLETED):
        attempt = CallAttempt.objects.create(
            org=handoff.org, handoff=handoff, member=self.alice_m, status=status
        )
        CallAttempt.objects.filter(pk=attempt.pk).update(**aged(days))
        return attempt

    def chat(self, handoff: Handoff, days: float, status: str = MessageStatus.CLOSED):
        message = ChatMessage.objects.create(
            org=handoff.org,
            handoff=handoff,
            member=self.alice_m if handoff.org == self.acme else self.gina_m,
            service="telegram",
            recipient="123456789",
            channel="123456789",
            status=status,
        )
        ChatMessage.objects.filter(pk=message.pk).update(**aged(days))
        return message

    def scrubs(self, org) -> list[dict[str, Any]]:
        entries = AuditEntry.objects.for_org(org).filter(event="payload.scrubbed")
        return [entry.data for entry in entries.order_by("seq")]


class ScrubbingTests(RetentionTestCase):
    def test_it_scrubs_exactly_the_payloads_past_the_orgs_retention(self):
        old = self.handoff(self.laptop, 31)
        recent = self.handoff(self.laptop, 29)
        bare = self.handoff(self.laptop, 90, payload=None)
        theirs = self.handoff(self.globex_laptop, 31)
        old_hash = old.payload_sha256

        counts = retention.apply(self.acme, now=NOW)

        self.assertEqual(counts, retention.Counts(payloads=1))
        old.refresh_from_db()
        self.assertIsNone(old.payload)
        self.assertEqual(old.payload_sha256, old_hash)  # still proves what was attached
        self.assertEqual(old.payload_scrubbed_at, NOW)
        recent.refresh_from_db()
        self.assertEqual(recent.payload, "diff --git a/x b/x")
        bare.refresh_from_db()
        self.assertIsNone(bare.payload_scrubbed_at)  # nothing was attached: nothing scrubbed
        theirs.refresh_from_db()
        self.assertEqual(theirs.payload, "diff --git a/x b/x")  # another org's
        self.assertTrue(Handoff.objects.filter(pk=old.pk).exists())  # rows are kept

    def test_each_org_keeps_payloads_as_long_as_it_says(self):
        org_services.update_organization(self.acme, actor=SYSTEM, payload_retention_days=60)
        self.acme.refresh_from_db()
        kept = self.handoff(self.laptop, 45)
        self.assertEqual(retention.apply(self.acme, now=NOW), retention.Counts())
        kept.refresh_from_db()
        self.assertIsNotNone(kept.payload)
        self.assertEqual(retention.apply(self.acme, now=NOW + timedelta(days=16)).payloads, 1)

    def test_the_chain_still_verifies_and_records_counts_never_content(self):
        self.handoff(self.laptop, 40)
        self.call(self.handoff(self.laptop, 100), 100)
        retention.apply(self.acme, now=NOW)

        report = verify_org(self.acme)
        self.assertTrue(report.result.ok, report.result)
        entries = AuditEntry.objects.for_org(self.acme).filter(event="payload.scrubbed")
        periods = {"payload_days": 30, "detail_days": 90}
        self.assertEqual(  # a batch of each kind, each committed with its own entry
            [entry.data for entry in entries.order_by("seq")],
            [
                {"scrubbed": 2, "calls_pruned": 0, "chats_pruned": 0, **periods},
                {"scrubbed": 0, "calls_pruned": 1, "chats_pruned": 0, **periods},
            ],
        )
        for entry in entries:
            self.assertEqual((entry.actor, entry.subject), (SYSTEM, ""))
            self.assertNotIn("diff", entry.canonical)

    def test_each_batch_is_audited_as_it_commits(self):
        for _ in range(5):
            self.handoff(self.laptop, 40)
        retention.apply(self.acme, now=NOW, batch_size=2)
        entries = AuditEntry.objects.for_org(self.acme).filter(event="payload.scrubbed")
        self.assertEqual([e.data["scrubbed"] for e in entries.order_by("seq")], [2, 2, 1])

    def test_a_second_run_changes_nothing_and_appends_nothing(self):
        self.handoff(self.laptop, 40)
        retention.apply(self.acme, now=NOW)
        entries = AuditEntry.objects.for_org(self.acme).count()

        self.assertEqual(retention.apply(self.acme, now=NOW), retention.Counts())
        self.assertEqual(AuditEntry.objects.for_org(self.acme).count(), entries)
        status = RetentionStatus.objects.get(org=self.acme)
        self.assertEqual((status.ran_at, status.payloads), (NOW, 0))  # the run is recorded

    def test_a_dry_run_counts_and_changes_nothing(self):
        old = self.handoff(self.laptop, 40)
        self.call(old, 100)
        self.chat(old, 100)
        entries = AuditEntry.objects.for_org(self.acme).count()

        counts = retention.apply(self.acme, now=NOW, dry_run=True)

        self.assertEqual(counts, retention.Counts(payloads=1, call_attempts=1, chat_messages=1))
        old.refresh_from_db()
        self.assertIsNotNone(old.payload)
        self.assertEqual(CallAttempt.objects.count(), 1)
        self.assertEqual(ChatMessage.objects.count(), 1)
        self.assertEqual(AuditEntry.objects.for_org(self.acme).count(), entries)
        self.assertFalse(RetentionStatus.objects.exists())

    def test_it_works_in_batches(self):
        for _ in range(5):
            self.handoff(self.laptop, 40)
        counts = retention.apply(self.acme, now=NOW, batch_size=2)
        self.assertEqual(counts.payloads, 5)
        self.assertFalse(Handoff.objects.filter(payload__isnull=False).exclude(org=self.globex))

    def test_a_pending_handoff_keeps_its_payload(self):
        pending = make_handoff(self.laptop, "db.migrate", payload="SELECT 1")
        Handoff.objects.filter(pk=pending.pk).update(**aged(40))
        self.assertEqual(retention.apply(self.acme, now=NOW).payloads, 0)


class PruningTests(RetentionTestCase):
    def test_it_prunes_call_and_chat_details_past_the_detail_retention(self):
        handoff = self.handoff(self.laptop, 100)
        old_call = self.call(handoff, 91)
        recent_call = self.call(handoff, 89)
        # Left looking open by a lost status callback or task: pruned all the same.
        stuck_call = self.call(handoff, 91, status=CallStatus.IN_PROGRESS)
        old_chat = self.chat(handoff, 91)
        stuck_chat = self.chat(self.handoff(self.laptop, 100), 91, status=MessageStatus.SENT)
        theirs = self.chat(self.handoff(self.globex_laptop, 100), 91)

        counts = retention.apply(self.acme, now=NOW)

        self.assertEqual((counts.call_attempts, counts.chat_messages), (2, 2))
        for gone in (old_call, stuck_call):
            self.assertFalse(CallAttempt.objects.filter(pk=gone.pk).exists())
        for gone in (old_chat, stuck_chat):
            self.assertFalse(ChatMessage.objects.filter(pk=gone.pk).exists())
        self.assertTrue(CallAttempt.objects.filter(pk=recent_call.pk).exists())
        self.assertTrue(ChatMessage.objects.filter(pk=theirs.pk).exists())
        self.assertTrue(Handoff.objects.filter(pk=handoff.pk).exists())

    def test_a_request_still_waiting_keeps_its_details(self):
        waiting = make_handoff(self.laptop, "db.migrate")
        call = self.call(waiting, 91, status=CallStatus.RINGING)
        Handoff.objects.filter(pk=waiting.pk).update(deadline=NOW + timedelta(minutes=5))
        self.assertEqual(retention.apply(self.acme, now=NOW).call_attempts, 0)
        self.assertTrue(CallAttempt.objects.filter(pk=call.pk).exists())


class CommandTests(RetentionTestCase):
    def run_command(self, *args: str) -> str:
        out = StringIO()
        call_command("apply_retention", *args, stdout=out)
        return out.getvalue()

    def test_it_runs_for_one_org_or_all_and_dry_runs(self):
        old = self.handoff(self.laptop, 400)
        self.handoff(self.globex_laptop, 400)

        out = self.run_command("--org", "acme", "--dry-run")
        self.assertIn("acme: would scrub 1 payload(s)", out)
        old.refresh_from_db()
        self.assertIsNotNone(old.payload)

        out = self.run_command("--org", "acme")
        self.assertIn("acme: scrubbed 1 payload(s)", out)
        self.assertNotIn("globex", out)
        self.assertEqual(self.scrubs(self.globex), [])

        out = self.run_command()
        self.assertIn("acme: scrubbed 0 payload(s)", out)
        self.assertIn("globex: scrubbed 1 payload(s)", out)

    def test_an_unknown_org_is_a_usage_error_and_changes_nothing(self):
        old = self.handoff(self.laptop, 400)
        with self.assertRaises(CommandError) as ctx:
            self.run_command("--org", "nope")
        self.assertEqual(ctx.exception.returncode, 2)
        old.refresh_from_db()
        self.assertIsNotNone(old.payload)


class SettingsTests(RetentionTestCase):
    def test_an_org_admin_sets_the_periods_and_the_audit_records_the_values(self):
        url = f"/admin/ony/organization/{self.acme.pk}/change/"
        page = self.client_for(self.alice).get(url)
        self.assertContains(page, "payload_retention_days")
        posted = self.client_for(self.alice).post(url, org_form(detail_retention_days=30))
        self.assertEqual(posted.status_code, 302)
        self.acme.refresh_from_db()
        self.assertEqual(self.acme.detail_retention_days, 30)
        [entry] = AuditEntry.objects.for_org(self.acme).filter(event="org.updated")
        self.assertEqual(entry.data["changes"]["detail_retention_days"], {"from": 90, "to": 30})

    def test_periods_out_of_range_are_refused(self):
        from django.core.exceptions import ValidationError

        for days in (0, 3651):
            with self.subTest(days), self.assertRaises(ValidationError):
                org_services.update_organization(
                    self.acme, actor=SYSTEM, payload_retention_days=days
                )

    def test_the_index_shows_each_orgs_retention_and_its_last_run(self):
        self.handoff(self.laptop, 40)
        retention.apply(self.acme, now=NOW)
        page = self.client_for(self.alice).get("/admin/").content.decode()
        self.assertIn("payloads kept 30 days, call and chat details 90 days", page)
        self.assertIn("1 payload scrubbed", page)
        self.assertNotIn("Globex", page)  # Alice's org only


@override_settings(CELERY_TASK_ALWAYS_EAGER=True, ONY_EAGER_TIMERS=False)
class EmbeddedModeTests(RetentionTestCase):
    def test_the_index_starts_the_days_run_once(self):
        old = self.handoff(self.laptop, 400)
        cache.delete("ony:retention:embedded")
        self.addCleanup(cache.delete, "ony:retention:embedded")
        with self.captureOnCommitCallbacks(execute=True):
            self.client_for(self.alice).get("/admin/")
        old.refresh_from_db()
        self.assertIsNone(old.payload)
        self.assertEqual(RetentionStatus.objects.count(), 2)  # every org, from the server
        ran_at = RetentionStatus.objects.get(org=self.acme).ran_at
        cache.delete("ony:retention:embedded")  # not what holds back a second run
        with self.captureOnCommitCallbacks(execute=True):
            self.client_for(self.alice).get("/admin/")
        self.assertEqual(RetentionStatus.objects.get(org=self.acme).ran_at, ran_at)


class BeatTaskTests(TransactionTestCase):
    """Through the broker to a real worker (in-process without Redis)."""

    def test_the_daily_task_applies_retention_to_every_org(self):
        acme = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        handoff = make_handoff(enroll_device(acme).device, "db.migrate", payload="x")
        created = handoff.created_at - timedelta(days=31)
        Handoff.objects.filter(pk=handoff.pk).update(
            status=Status.APPROVED, created_at=created, deadline=created + timedelta(minutes=10)
        )
        with running_worker():
            self.assertEqual(apply_retention.delay().get(timeout=20), {"acme": [1, 0, 0]})
        handoff.refresh_from_db()
        self.assertIsNone(handoff.payload)
