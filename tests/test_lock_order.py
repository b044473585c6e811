"""Lock order (PostgreSQL): everyday changes to one organization run at once without deadlock.

Policy-decided creates hold the org's chain lock while they insert rows that
point at the org; member and settings changes lock the rows others point at;
calls end while decisions are taken. None of them may wait on another in a
circle (PostgreSQL would break it with "deadlock detected": a 500).
"""

from __future__ import annotations

import threading
import time
import unittest
from collections.abc import Callable

from django.db import connection, transaction
from django.test import TransactionTestCase

from audit import services as audit
from audit.events import SYSTEM
from audit.verification import verify_org
from devices import services as devices
from handoffs import services as handoffs
from handoffs.models import Handoff, Status
from ony import services as org_services
from ony.roles import Role
from telephony import services as telephony
from telephony.models import CallAttempt, CallStatus
from tests.base import enroll_device, make_handoff, run_together

ROUNDS = 15


@unittest.skipUnless(connection.vendor == "postgresql", "row locks need PostgreSQL")
class LockOrderTests(TransactionTestCase):
    def test_creates_decisions_calls_and_member_changes_at_once_never_deadlock(self):
        org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        alice = org_services.add_member(org, "alice@acme.test", actor=SYSTEM, role=Role.ADMIN)
        bob = org_services.add_member(org, "bob@acme.test", actor=SYSTEM, role=Role.MEMBER)
        carol = org_services.add_member(org, "carol@acme.test", actor=SYSTEM, role=Role.ADMIN)
        device = enroll_device(org).device
        pending = [make_handoff(device, "db.migrate") for _ in range(ROUNDS)]
        calls = [
            CallAttempt.objects.create(
                org=org, handoff=handoff, member=bob, status=CallStatus.IN_PROGRESS
            )
            for handoff in pending
        ]
        errors: list[BaseException] = []

        def join_and_leave(n: int) -> None:
            member = org_services.add_member(
                org, f"temp{n}@acme.test", actor=alice.public_id, role=Role.MEMBER
            )
            if n % 2:
                org_services.erase_member(member, actor=alice.public_id)
            else:
                org_services.remove_member(member, actor=alice.public_id)

        barrier = threading.Barrier(6)

        def each(step: Callable[[int], object]) -> Callable[[], None]:
            def run() -> None:
                barrier.wait()
                for n in range(ROUNDS):
                    try:
                        step(n)
                    except BaseException as exc:  # reported below
                        errors.append(exc)

            return run

        run_together(
            each(lambda n: make_handoff(device, "test.run")),  # policy-decided: chain lock
            each(
                lambda n: handoffs.decide(
                    pending[n], "approve", via="api", actor=bob.public_id, by=bob
                )
            ),
            each(lambda n: telephony.finish(calls[n], CallStatus.COMPLETED)),
            each(
                lambda n: org_services.update_member(
                    carol, actor=alice.public_id, role=Role.MEMBER if n % 2 == 0 else Role.ADMIN
                )
            ),
            each(
                lambda n: org_services.update_organization(
                    org, actor=alice.public_id, viewers_read_payloads=n % 2 == 0
                )
            ),
            each(lambda n: join_and_leave(n)),
        )
        self.assertEqual(errors, [])
        self.assertEqual(Handoff.objects.filter(status=Status.PENDING).count(), 0)
        self.assertEqual(CallAttempt.objects.filter(status=CallStatus.IN_PROGRESS).count(), 0)
        self.assertTrue(verify_org(org).result.ok)

    def test_an_escalation_and_a_commit_that_checks_a_members_row_do_not_deadlock(self):
        """Django's foreign keys are checked at COMMIT (deferred), with the chain lock held:
        an escalation's lock on the approver's row must not block that check (the stress
        run found this one)."""
        org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        bob = org_services.add_member(
            org, "bob@acme.test", actor=SYSTEM, role=Role.MEMBER, phone="+14155550102"
        )
        device = enroll_device(org).device
        handoff = make_handoff(device, "db.migrate")
        holding, errors = threading.Event(), []

        def escalation() -> None:
            try:
                holding.wait(10)  # the other transaction holds the chain lock
                with transaction.atomic():
                    telephony._on_another_call(bob)  # locks Bob's row, as call_next does
                    audit.hold_chain(org)  # and then the chain, as its audit.append does
            except BaseException as exc:
                errors.append(exc)

        def chained_insert() -> None:
            try:
                with transaction.atomic():
                    audit.hold_chain(org)
                    CallAttempt.objects.create(org=org, handoff=handoff, member=bob)
                    holding.set()
                    time.sleep(0.5)  # the escalation locks Bob's row meanwhile
                # COMMIT checks the member foreign key here, with the chain lock held.
            except BaseException as exc:
                errors.append(exc)

        run_together(escalation, chained_insert)
        self.assertEqual(errors, [])
        self.assertEqual(CallAttempt.objects.filter(member=bob).count(), 1)

    def test_calls_and_changes_to_the_approver_being_called_never_deadlock(self):
        org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        alice = org_services.add_member(org, "alice@acme.test", actor=SYSTEM, role=Role.ADMIN)
        bob = org_services.add_member(
            org, "bob@acme.test", actor=SYSTEM, role=Role.MEMBER, phone="+14155550102",
            oncall_order=1,
        )  # fmt: skip
        device = enroll_device(org).device
        pending = [make_handoff(device, "db.migrate") for _ in range(ROUNDS)]
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def calls() -> None:
            barrier.wait()
            for handoff in pending:
                try:
                    telephony.call_next(handoff.pk)
                    CallAttempt.objects.filter(handoff=handoff).update(status=CallStatus.COMPLETED)
                except BaseException as exc:
                    errors.append(exc)

        def phone_changes() -> None:
            barrier.wait()
            for n in range(ROUNDS):
                try:
                    org_services.update_member(
                        bob, actor=alice.public_id, phone=f"+1415555010{n % 2}"
                    )
                except BaseException as exc:
                    errors.append(exc)

        with self.settings(ONY_TELEPHONY_SIMULATOR=True):  # a provider: calls are placed
            run_together(calls, phone_changes)
        self.assertEqual(errors, [])
        self.assertEqual(CallAttempt.objects.filter(member=bob).count(), ROUNDS)

    def test_freezing_a_device_while_its_request_commits_does_not_deadlock(self):
        org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        device = enroll_device(org).device
        holding, errors = threading.Event(), []

        def create() -> None:
            try:
                with transaction.atomic():
                    make_handoff(device, "test.run")  # holds the chain lock until COMMIT
                    holding.set()
                    time.sleep(0.5)  # the freeze locks what it locks meanwhile
                # COMMIT checks the handoff's foreign key to the device here.
            except BaseException as exc:
                errors.append(exc)

        def freeze() -> None:
            try:
                holding.wait(10)
                devices.freeze(device, actor=SYSTEM, reason="test")
            except BaseException as exc:
                errors.append(exc)

        run_together(create, freeze)
        self.assertEqual(errors, [])
        device.refresh_from_db()
        self.assertIsNotNone(device.frozen_at)
        self.assertEqual(Handoff.objects.filter(device=device).count(), 1)
