"""The audit chain vectors, byte for byte, through the verifier core."""

from __future__ import annotations

import json

from django.test import SimpleTestCase

from audit.chain import GENESIS, Expectation, Row, entry_hash, show_hash, verify
from tests.vectors import load_vectors

VECTORS = load_vectors("audit_chain.json")
KEY = bytes.fromhex(VECTORS["audit_key_hex"])


ORG = "org_7c1e"


def rows(entries: list[dict]) -> list[Row]:
    """Stored rows for the vectors' entries, columns as the canonical text has them."""
    result = []
    for e in entries:
        fields = json.loads(e["canonical"])
        result.append(
            Row(
                seq=e["seq"],
                key_id="v",
                prev_hash=bytes.fromhex(e["prev_hash"]),
                hash=bytes.fromhex(e["hash"]),
                canonical=e["canonical"],
                event=fields["event"],
                actor=fields["actor"],
                subject=fields["subject"],
            )
        )
    return result


class AuditVectorTests(SimpleTestCase):
    def test_it_computes_every_hash_of_the_vectors(self):
        prev = GENESIS
        for entry in VECTORS["entries"]:
            self.assertEqual(entry["prev_hash"], prev.hex())
            digest = entry_hash(KEY, prev, entry["canonical"].encode())
            self.assertEqual(digest.hex(), entry["hash"])
            prev = digest

    def test_it_verifies_the_good_chain(self):
        result = verify(ORG, rows(VECTORS["entries"]), {"v": KEY})
        self.assertTrue(result.ok)
        self.assertEqual((result.entries, result.head_seq), (4, 4))
        self.assertEqual(result.head_hash.hex(), VECTORS["entries"][-1]["hash"])

    def test_it_reports_each_tampered_case_where_the_vectors_say(self):
        for case in VECTORS["tampered"]:
            witnesses = []
            if "witness" in case:
                w = case["witness"]
                witnesses.append(Expectation(w["seq"], bytes.fromhex(w["hash"])))
            with self.subTest(case["name"]):
                result = verify(ORG, rows(case["entries"]), {"v": KEY}, witnesses)
                expected = case["first_failure"]
                self.assertEqual(
                    (result.failure.seq, result.failure.kind.value),
                    (expected["seq"], expected["kind"]),
                )

    def test_it_does_not_notice_truncation_without_a_witness(self):
        truncated = next(c for c in VECTORS["tampered"] if "witness" in c)
        self.assertTrue(verify(ORG, rows(truncated["entries"]), {"v": KEY}).ok)

    def test_it_refuses_an_unknown_key_id(self):
        result = verify(ORG, rows(VECTORS["entries"]), {"other": KEY})
        self.assertEqual((result.failure.seq, result.failure.kind), (1, "mac"))

    def test_it_checks_a_witness_that_matches(self):
        last = VECTORS["entries"][-1]
        witness = Expectation(last["seq"], bytes.fromhex(last["hash"]))
        self.assertTrue(verify(ORG, rows(VECTORS["entries"]), {"v": KEY}, [witness]).ok)

    def test_it_shows_the_first_predecessor_as_genesis(self):
        self.assertEqual(show_hash(GENESIS), "genesis")
        self.assertEqual(show_hash(b"\x01" * 32), "01" * 32)

    def test_it_refuses_a_row_whose_columns_disagree_with_its_text(self):
        for field, value in [("event", "org.updated"), ("actor", "mem_zz"), ("subject", "dev_0")]:
            tampered = rows(VECTORS["entries"])
            tampered[2] = tampered[2]._replace(**{field: value})
            with self.subTest(field):
                result = verify(ORG, tampered, {"v": KEY})
                self.assertEqual((result.failure.seq, result.failure.kind), (3, "mac"))
        result = verify("org_other", rows(VECTORS["entries"]), {"v": KEY})
        self.assertEqual((result.failure.seq, result.failure.kind), (1, "mac"))
