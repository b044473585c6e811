"""Canonical JSON: the profile is enforced and the output is byte-exact."""

from __future__ import annotations

import json
import math
from decimal import Decimal

from django.test import SimpleTestCase
from hypothesis import given
from hypothesis import strategies as st

from ony.canonical import MAX_SAFE_INTEGER, canonical
from tests.vectors import load_vectors

# Values on the profile: what canonical() must accept and reproduce.
ascii_keys = st.text(alphabet=st.characters(max_codepoint=127, exclude_characters="\x00"))
safe_text = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
profile = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | safe_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ascii_keys, children, max_size=4)
    ),
    max_leaves=20,
)


class CanonicalTests(SimpleTestCase):
    def test_it_matches_the_verdict_vector_byte_for_byte(self):
        vectors = load_vectors("verdicts.json")
        verdict = dict(vectors["cases"][0]["verdict"])
        del verdict["signature"]
        self.assertEqual(
            canonical(verdict), vectors["canonical_of_valid_without_signature"].encode()
        )

    def test_it_matches_the_audit_vectors_byte_for_byte(self):
        for entry in load_vectors("audit_chain.json")["entries"]:
            parsed = json.loads(entry["canonical"])
            self.assertEqual(canonical(parsed), entry["canonical"].encode())

    def test_it_sorts_keys_and_drops_whitespace(self):
        self.assertEqual(
            canonical({"b": [1, True, None], "a": "x"}), b'{"a":"x","b":[1,true,null]}'
        )

    def test_it_keeps_unicode_and_normalizes_to_nfc(self):
        self.assertEqual(canonical({"n": "e\u0301"}), '{"n":"\u00e9"}'.encode())
        self.assertEqual(canonical("日本"), '"日本"'.encode())

    def test_it_refuses_values_off_the_profile(self):
        for bad in [
            1.5,
            math.nan,
            math.inf,
            MAX_SAFE_INTEGER + 1,
            -(MAX_SAFE_INTEGER + 1),
            {"ключ": 1},
            {1: "int key"},
            "nul\x00byte",
            {"k": "\ud800"},
            b"bytes",
            Decimal("1"),
            {1, 2},
            {"nested": [{"deep": 0.1}]},
        ]:
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                canonical(bad)

    def test_it_accepts_the_limits(self):
        self.assertEqual(canonical(MAX_SAFE_INTEGER), b"9007199254740991")
        self.assertEqual(canonical(-MAX_SAFE_INTEGER), b"-9007199254740991")

    @given(profile)
    def test_it_round_trips_and_is_idempotent(self, value):
        encoded = canonical(value)
        self.assertEqual(canonical(json.loads(encoded)), encoded)
