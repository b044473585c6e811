"""Phone numbers: E.164 validation on the way in, masking on the way out.

A number is shown in full only to the telephony provider when it places a
call. Everywhere else (logs, admin lists, the team API, audit data) it is
masked as ``+1 *** *** 1234``: country code and the last four digits.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError

MASK_UNKNOWN = "+** *** *** ****"
#: Between two digits of a written-out number: spaces, dots, dashes of any
#: kind, slashes, underscores, commas or brackets, a few of them in a row
#: ("+1 (415) 555-0100", "+1_415_555_0100", en dashes).
_SEP_CHARS = r"\s().\-/\\_,\u2010-\u2015\u2212"
_SEPARATORS = rf"[{_SEP_CHARS}]{{0,3}}"
#: A phone number written out:
#: - international form: "+" and 7 to 15 digits with any separators;
#: - North American form, with a separator or brackets somewhere:
#:   "(415) 555-0100", "(415)555-0100", "415.555.0100", "1 415 5550100";
#: - national form with a trunk 0 and spaced or dashed groups: "020 7946 0958";
#: - a ``tel:`` link: "tel:4155550100".
#: A masked number (+1 *** *** 1234) is none of these; nor are runs of digits
#: without "+" or separators (commit hashes, ids, timestamps, dates) or
#: dotted quads (addresses, versions), which a digit count cannot tell apart.
UNMASKED_PHONE = re.compile(
    rf"\+{_SEPARATORS}\d(?:{_SEPARATORS}\d){{6,14}}"
    r"|(?<![\w+.])(?:1[\s.\-])?(?:\(\d{3}\)[\s.\-]{0,2}|\d{3}[\s.\-]{1,2})"
    r"\d{3}[\s.\-]?\d{4}(?![\w.])"
    r"|(?<![\w+.])0\d{1,4}[ \-]\d{3,4}[ \-]\d{3,4}(?![\w.])"
    r"|\btel:\+?[\d\s().\-]{7,}"
)


def contains_phone_number(text: str) -> bool:
    """Whether ``text`` writes out a phone number (``UNMASKED_PHONE``), in any width of
    characters (a full-width plus sign or digits count as the ASCII ones)."""
    return UNMASKED_PHONE.search(unicodedata.normalize("NFKC", text)) is not None


def no_phone_number(value: str) -> None:
    """A validator for text the audit chain records (targets, device names): numbers never
    appear there."""
    if contains_phone_number(value):
        raise ValidationError("Phone numbers are not allowed here.", code="phone_number")


def mask_written_number(text: str) -> str:
    """A number as ``UNMASKED_PHONE`` found it, masked: ``+1 *** *** 0100``, ``*** *** 0100``."""
    digits = re.sub(r"\D", "", text)
    if text.lstrip().startswith("+"):
        return mask_phone("+" + digits)
    return f"*** *** {digits[-4:]}"


def normalize_e164(value: str) -> str:
    """Return ``value`` as E.164, or raise ``ValidationError`` (code ``invalid_phone``).

    The number must be written in international form (leading ``+``) and be a
    valid number for its country; spaces, dashes and brackets are accepted.
    """
    text = (value or "").strip()
    if not text.startswith("+"):
        raise ValidationError(
            "Enter the number in international form, starting with + and the country code.",
            code="invalid_phone",
        )
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError("Enter a valid phone number.", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    """Model validator: the stored value must already be in E.164 form."""
    if normalize_e164(value) != value:
        raise ValidationError("Store phone numbers in E.164 form.", code="invalid_phone")


def mask_phone(value: str | None) -> str:
    """``+14155551234`` -> ``+1 *** *** 1234``; empty stays empty."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return MASK_UNKNOWN
    national = str(number.national_number)
    if len(national) < 6:
        return MASK_UNKNOWN
    return f"+{number.country_code} *** *** {national[-4:]}"
