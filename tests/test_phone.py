"""Phone numbers: E.164 on the way in, masked on the way out, never in logs."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.test import SimpleTestCase

from ony.phone import mask_phone, normalize_e164
from ony.redaction import RedactingFilter, redact


class PhoneTests(SimpleTestCase):
    def test_it_normalizes_international_numbers(self):
        self.assertEqual(normalize_e164("+1 (415) 555-0101"), "+14155550101")
        self.assertEqual(normalize_e164(" +44 20 7946 0201 "), "+442079460201")

    def test_it_refuses_numbers_that_are_not_e164(self):
        for bad in ["4155550101", "+1 555", "+999 1234567", "call me", "", "+1415555010112345"]:
            with self.subTest(bad=bad), self.assertRaises(ValidationError) as ctx:
                normalize_e164(bad)
            self.assertEqual(ctx.exception.code, "invalid_phone")

    def test_it_masks_all_but_country_code_and_last_four(self):
        self.assertEqual(mask_phone("+14155550101"), "+1 *** *** 0101")
        self.assertEqual(mask_phone("+442079460201"), "+44 *** *** 0201")
        self.assertEqual(mask_phone(""), "")
        self.assertEqual(mask_phone("garbage"), "+** *** *** ****")


class RedactionTests(SimpleTestCase):
    def test_it_masks_phone_numbers_in_text(self):
        self.assertEqual(redact("calling +14155550101 now"), "calling +1 *** *** 0101 now")
        self.assertEqual(redact("to +44 20 7946 0201."), "to +44 *** *** 0201.")

    def test_it_blanks_credentials(self):
        text = redact("Authorization: Bearer abcdefgh12345678 and ?token=s3cret&x=1")
        self.assertNotIn("abcdefgh12345678", text)
        self.assertNotIn("s3cret", text)
        self.assertIn("x=1", text)

    def test_it_filters_log_records_before_handlers(self):
        logger = logging.getLogger("ony.tests.redaction")
        logger.addFilter(RedactingFilter())
        try:
            with self.assertLogs(logger, level="INFO") as logs:
                logger.info("paging %s with %s", "+14155550101", "password=hunter2")
        finally:
            logger.filters.clear()
        self.assertEqual(
            logs.records[0].getMessage(), "paging +1 *** *** 0101 with password=[redacted]"
        )
