"""The connector's own HMAC-SHA256 and base64url agree with the standard library's."""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.test import SimpleTestCase
from hypothesis import given
from hypothesis import strategies as st

from ony.connector.config import decode_key, urlsafe_b64
from ony.connector.hmac256 import compare_digest, hmac_sha256


class HmacTests(SimpleTestCase):
    @given(st.binary(max_size=200), st.binary(max_size=2000))
    def test_it_matches_the_standard_hmac(self, key, message):
        self.assertEqual(hmac_sha256(key, message), hmac.new(key, message, hashlib.sha256).digest())

    def test_it_matches_rfc_4231_case_2(self):
        digest = hmac_sha256(b"Jefe", b"what do ya want for nothing?")
        self.assertEqual(
            digest.hex(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        )

    def test_compare_digest_compares(self):
        self.assertTrue(compare_digest(b"abc", b"abc"))
        self.assertFalse(compare_digest(b"abc", b"abd"))


class Base64UrlTests(SimpleTestCase):
    @given(st.binary(max_size=100))
    def test_it_matches_the_base64_module(self, raw):
        self.assertEqual(urlsafe_b64(raw), base64.urlsafe_b64encode(raw).decode().rstrip("="))

    @given(st.binary(min_size=32, max_size=32))
    def test_keys_round_trip(self, key):
        self.assertEqual(decode_key(urlsafe_b64(key)), key)
