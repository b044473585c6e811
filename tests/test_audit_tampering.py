"""Property: any tampering through raw SQL is reported at the exact entry it touched.

Chains are built through the real append path, a signed checkpoint is taken
of the head, then the rows are edited, deleted, forged, swapped, moved to
another organization or cut short, behind the application's back.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from audit import services as audit
from audit.chain import Expectation
from audit.events import SYSTEM, Event
from audit.verification import verify_org
from ony import services
from tests.tamper import entry_row, sql

EXAMPLES = int(os.environ.get("ONY_HYPOTHESIS_EXAMPLES", "25"))
property_settings = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class TamperingTests(TestCase):
    def build(self, length: int, other_length: int):
        """Org A of ``length`` entries, checkpointed at its head; org B of ``other_length``."""
        self.a = services.create_organization(name="A", slug="a", actor=SYSTEM)
        for n in range(length - 1):
            audit.append(self.a, Event.DEVICE_ENROLLED, SYSTEM, f"dev_{n:04x}", {"n": n})
        audit.checkpoint(self.a)
        self.b = services.create_organization(name="B", slug="b", actor=SYSTEM)
        for n in range(other_length - 1):
            audit.append(self.b, Event.DEVICE_REVOKED, SYSTEM, f"dev_{n:04x}")
        self.n = length
        self.head_hash = bytes(entry_row(self.a.pk, length)[3])

    def failure(self, org=None, witnesses=()):
        failure = verify_org(org or self.a, witnesses).result.failure
        return failure and (failure.seq, failure.kind.value)

    @property_settings
    @given(st.integers(2, 10), st.data())
    def test_it_catches_an_edited_byte(self, length, data):
        self.build(length, 1)
        k = data.draw(st.integers(1, length), label="seq")
        row_id, text = entry_row(self.a.pk, k)[:2]
        at = data.draw(st.integers(0, len(text) - 1), label="position")
        edited = text[:at] + ("x" if text[at] != "x" else "y") + text[at + 1 :]
        sql("UPDATE audit_auditentry SET canonical = %s WHERE id = %s", [edited, row_id])
        self.assertEqual(self.failure(), (k, "mac"))

    @property_settings
    @given(st.integers(2, 10), st.data())
    def test_it_catches_an_edited_hash(self, length, data):
        self.build(length, 1)
        k = data.draw(st.integers(1, length - 1), label="seq")
        row_id, _, _, digest = entry_row(self.a.pk, k)[:4]
        flipped = bytes([digest[0] ^ 1]) + bytes(digest[1:])
        sql("UPDATE audit_auditentry SET hash = %s WHERE id = %s", [flipped, row_id])
        self.assertEqual(self.failure(), (k, "mac"))

    @property_settings
    @given(st.integers(3, 10), st.data())
    def test_it_catches_a_deleted_row(self, length, data):
        self.build(length, 1)
        k = data.draw(st.integers(1, length - 1), label="seq")
        sql("DELETE FROM audit_auditentry WHERE id = %s", [entry_row(self.a.pk, k)[0]])
        self.assertEqual(self.failure(), (k, "gap"))

    @property_settings
    @given(st.integers(1, 10), st.binary(min_size=32, max_size=32))
    def test_it_catches_a_forged_row(self, length, forged_hash):
        self.build(length, 1)
        canonical = (
            f'{{"actor":"system","at":"2026-06-30T14:22:01.000000Z","data":{{}},'
            f'"event":"handoff.decided","org":"{self.a.public_id}","seq":{length + 1},'
            f'"subject":"req_000000000000","v":1}}'
        )
        sql(
            "INSERT INTO audit_auditentry (org_id, seq, key_id, canonical, prev_hash, hash, "
            "event, actor, subject, created_at) VALUES (%s, %s, 't1', %s, %s, %s, "
            "'handoff.decided', 'system', 'req_000000000000', CURRENT_TIMESTAMP)",
            [self.a.pk, length + 1, canonical, self.head_hash, forged_hash],
        )
        self.assertEqual(self.failure(), (length + 1, "mac"))

    @property_settings
    @given(st.integers(3, 10), st.data())
    def test_it_catches_two_rows_swapped(self, length, data):
        self.build(length, 1)
        i = data.draw(st.integers(1, length - 1), label="first")
        j = data.draw(st.integers(i + 1, length), label="second")
        row_i, row_j = entry_row(self.a.pk, i), entry_row(self.a.pk, j)
        update = (
            "UPDATE audit_auditentry SET canonical = %s, prev_hash = %s, hash = %s, event = %s, "
            "actor = %s, subject = %s WHERE id = %s"
        )
        sql(update, [*row_j[1:], row_i[0]])
        sql(update, [*row_i[1:], row_j[0]])
        self.assertEqual(self.failure(), (i, "link"))

    @property_settings
    @given(st.integers(3, 10), st.integers(1, 5), st.data())
    def test_it_catches_a_row_moved_to_another_org(self, length, other_length, data):
        self.build(length, other_length)
        k = data.draw(st.integers(1, length - 1), label="seq")
        sql(
            "UPDATE audit_auditentry SET org_id = %s, seq = %s WHERE id = %s",
            [self.b.pk, other_length + 1, entry_row(self.a.pk, k)[0]],
        )
        self.assertEqual(self.failure(), (k, "gap"))
        seq, kind = self.failure(self.b)
        self.assertEqual(seq, other_length + 1)
        self.assertIn(kind, ("link", "mac"))

    @property_settings
    @given(st.integers(2, 10), st.data())
    def test_it_catches_a_truncated_tail_by_witness_and_by_checkpoint(self, length, data):
        self.build(length, 1)
        cut = data.draw(st.integers(1, length - 1), label="rows cut")
        sql(
            "DELETE FROM audit_auditentry WHERE org_id = %s AND seq > %s",
            [self.a.pk, length - cut],
        )
        # The signed checkpoint of the old head is gone from the chain ...
        self.assertEqual(self.failure(), (length, "checkpoint"))
        # ... and so is a witness a device kept, even with the checkpoint deleted too.
        sql("DELETE FROM audit_checkpoint WHERE org_id = %s", [self.a.pk])
        self.assertIsNone(self.failure())
        witness = Expectation(length, self.head_hash)
        self.assertEqual(self.failure(witnesses=[witness]), (length, "checkpoint"))

    def test_it_verifies_an_untouched_chain(self):
        self.build(6, 3)
        self.assertIsNone(self.failure())
        self.assertIsNone(self.failure(self.b))
        self.assertIsNone(self.failure(witnesses=[Expectation(6, self.head_hash)]))
