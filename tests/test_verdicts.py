"""Verdict signatures: every vector, and every check the connector makes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from django.test import SimpleTestCase

from devices import verdicts as server_verdict
from ony.canonical import canonical
from ony.connector import verdict as connector_verdict
from ony.connector.verdict import Expected, VerdictRejected, authenticate, is_approval, sign
from tests.vectors import load_vectors

VECTORS = load_vectors("verdicts.json")
KEY = base64.urlsafe_b64decode(VECTORS["decision_key_base64url"] + "=")
VALID = VECTORS["cases"][0]["verdict"]
EXPECTED = Expected(
    device_id=VALID["device_id"],
    request_id=VALID["request_id"],
    nonce=VALID["nonce"],
    action=VALID["action"],
    target=VALID["target"],
    risk=VALID["risk"],
)
NOW = datetime(2026, 6, 30, 14, 23, 0, tzinfo=UTC)


def modules():
    """The server signs through devices.verdicts, the connector verifies through ony.connector."""

    return {"server": server_verdict, "connector": connector_verdict}


class VerdictVectorTests(SimpleTestCase):
    def test_the_key_encodings_agree(self):
        self.assertEqual(KEY, bytes.fromhex(VECTORS["decision_key_hex"]))

    def test_it_checks_every_vector_in_both_modules(self):
        for side, module in modules().items():
            for case in VECTORS["cases"]:
                with self.subTest(side=side, case=case["name"]):
                    self.assertEqual(
                        module.signature_valid(KEY, case["verdict"]), case["valid_signature"]
                    )

    def test_it_signs_the_valid_vector_identically(self):
        unsigned = {k: v for k, v in VALID.items() if k != "signature"}
        self.assertEqual(
            canonical(unsigned).decode(), VECTORS["canonical_of_valid_without_signature"]
        )
        for side, module in modules().items():
            with self.subTest(side):
                self.assertEqual(module.sign(KEY, unsigned)["signature"], VALID["signature"])

    def test_it_encodes_non_ascii_as_utf8(self):
        case = next(c for c in VECTORS["cases"] if "canonical_utf8_hex" in c)
        unsigned = {k: v for k, v in case["verdict"].items() if k != "signature"}
        self.assertEqual(canonical(unsigned).hex(), case["canonical_utf8_hex"])
        self.assertEqual(sign(KEY, unsigned)["signature"], case["verdict"]["signature"])


class ConnectorCheckTests(SimpleTestCase):
    def test_it_honours_the_valid_approval_inside_its_window(self):
        self.assertTrue(is_approval(KEY, VALID, EXPECTED, NOW))

    def test_it_refuses_every_tampered_vector(self):
        for case in VECTORS["cases"][1:]:
            if case["valid_signature"]:
                continue
            with self.subTest(case["name"]):
                self.assertFalse(is_approval(KEY, case["verdict"], EXPECTED, NOW))

    def resign(self, **changes):
        unsigned = {k: v for k, v in VALID.items() if k != "signature"}
        return sign(KEY, {**unsigned, **changes})

    def test_it_refuses_a_genuine_verdict_for_another_request(self):
        for field, value in [
            ("device_id", "dev_000000000000"),
            ("request_id", "req_000000000000"),
            ("nonce", "another-nonce"),
            ("action", "deploy.staging"),
            ("target", "prod-db"),
            ("risk", "low"),
        ]:
            with self.subTest(field):
                verdict = self.resign(**{field: value})
                self.assertFalse(is_approval(KEY, verdict, EXPECTED, NOW))
                with self.assertRaises(VerdictRejected) as ctx:
                    authenticate(KEY, verdict, EXPECTED)
                self.assertEqual(ctx.exception.reason, "mismatch")

    def test_it_honours_only_approve(self):
        for decision in ("deny", "ask"):
            verdict = self.resign(decision=decision)
            self.assertEqual(authenticate(KEY, verdict, EXPECTED), decision)
            self.assertFalse(is_approval(KEY, verdict, EXPECTED, NOW))

    def test_it_respects_the_time_window_with_30s_of_skew(self):
        issued = datetime(2026, 6, 30, 14, 22, 7, tzinfo=UTC)
        expires = datetime(2026, 6, 30, 14, 24, 7, tzinfo=UTC)
        self.assertTrue(is_approval(KEY, VALID, EXPECTED, issued - timedelta(seconds=30)))
        self.assertFalse(is_approval(KEY, VALID, EXPECTED, issued - timedelta(seconds=31)))
        self.assertTrue(is_approval(KEY, VALID, EXPECTED, expires))
        self.assertFalse(is_approval(KEY, VALID, EXPECTED, expires + timedelta(seconds=1)))

    def test_it_refuses_malformed_verdicts_without_raising(self):
        extra = self.resign(extra="field")
        missing = {k: v for k, v in VALID.items() if k != "audit_hash"}
        for bad in [
            None,
            [],
            "approve",
            {},
            extra,
            missing,
            self.resign(audit_seq=True),
            self.resign(v=2),
            self.resign(decided_via="carrier-pigeon"),
            self.resign(issued_at="yesterday"),
            {**VALID, "signature": 42},
            {**VALID, "signature": "hmac-sha256:" + "0" * 64},
            {**VALID, "signature": "hmac-sha256:\udcff"},
            {**VALID, "target": 1.5},
        ]:
            with self.subTest(bad=str(bad)[:40]):
                self.assertFalse(is_approval(KEY, bad, EXPECTED, NOW))

    def test_it_refuses_a_verdict_signed_with_another_key(self):
        other = sign(b"\x01" * 32, {k: v for k, v in VALID.items() if k != "signature"})
        self.assertFalse(is_approval(KEY, other, EXPECTED, NOW))
