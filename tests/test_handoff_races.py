"""Races on PostgreSQL: keypad vs dashboard vs deadline vs cancel, exactly one wins."""

from __future__ import annotations

import threading
import unittest

from django.db import connection
from django.test import TransactionTestCase

from audit.events import SYSTEM
from audit.models import AuditEntry
from audit.verification import verify_org
from handoffs import services
from handoffs.models import Handoff
from ony import services as org_services
from ony.roles import Role
from tests.base import enroll_device, make_handoff

ROUNDS = 50


def race(handoff_pk: int, contenders: dict) -> tuple[list[str], list[BaseException]]:
    """Start every contender at once on the same handoff; return who won and what broke."""
    barrier = threading.Barrier(len(contenders))
    winners: list[str] = []
    errors: list[BaseException] = []

    def contend(name: str, act) -> None:
        try:
            barrier.wait()
            act(Handoff.objects.get(pk=handoff_pk))
            winners.append(name)
        except services.HandoffError as exc:
            if exc.code != "already_decided":
                errors.append(exc)
        except BaseException as exc:  # reported in the test's own thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=contend, args=item) for item in contenders.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return winners, errors


@unittest.skipUnless(connection.vendor == "postgresql", "row locks need PostgreSQL")
class DecisionRaceTests(TransactionTestCase):
    def test_exactly_one_outcome_wins_every_race(self):
        org = org_services.create_organization(name="Race", slug="race", actor=SYSTEM)
        bob = org_services.add_member(org, "bob@race.test", actor=SYSTEM, role=Role.MEMBER)
        laptop = enroll_device(org).device
        contenders = {
            "approve": lambda h: services.decide(
                h, "approve", via="dashboard", actor=bob.public_id, by=bob
            ),
            "deny": lambda h: services.decide(h, "deny", via="api", actor=bob.public_id, by=bob),
            "deadline": lambda h: services.decide(h, "deny", via="deadline", actor=SYSTEM),
            "cancel": lambda h: services.cancel(laptop, h),
        }
        expected_state = {
            "approve": ("approved", "approve", "dashboard", "handoff.decided"),
            "deny": ("denied", "deny", "api", "handoff.decided"),
            "deadline": ("expired", "deny", "deadline", "handoff.expired"),
            "cancel": ("cancelled", "deny", "cancel", "handoff.cancelled"),
        }
        for round_ in range(ROUNDS):
            handoff = make_handoff(laptop, nonce=f"race-nonce-{round_:04d}")
            winners, errors = race(handoff.pk, contenders)
            self.assertEqual(errors, [], f"round {round_}")
            self.assertEqual(len(winners), 1, f"round {round_}: {winners}")
            status, decision, via, event = expected_state[winners[0]]
            stored = Handoff.objects.get(pk=handoff.pk)
            self.assertEqual(
                (stored.status, stored.decision, stored.decided_via), (status, decision, via)
            )
            self.assertEqual(
                (stored.verdict["decision"], stored.verdict["decided_via"]), (decision, via)
            )
            outcomes = AuditEntry.objects.for_org(org).filter(
                subject=handoff.public_id,
                event__in=["handoff.decided", "handoff.expired", "handoff.cancelled"],
            )
            self.assertEqual([e.event for e in outcomes], [event], f"round {round_}")
            self.assertEqual(stored.verdict["audit_seq"], outcomes[0].seq)
            self.assertEqual(stored.verdict["audit_hash"], outcomes[0].hash_hex)
        self.assertTrue(verify_org(org).ok)
