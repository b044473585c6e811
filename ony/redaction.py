"""A logging filter that keeps phone numbers, email addresses and credentials out of logs."""

from __future__ import annotations

import logging
import re
import unicodedata

from ony.phone import UNMASKED_PHONE, mask_written_number

# Authorization header values and token-looking query parameters.
_BEARER = re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_SECRET_PARAM = re.compile(r"(?i)\b(token|secret|password|key|otp|code|start)=([^&\s'\"]+)")
# Ony's own bearer tokens (ony_dev_..., ony_enr_..., ony_inv_..., personal tokens),
# wherever they appear: an invitation's is in its URL, so in access logs.
_ONY_TOKEN = re.compile(r"\bony_[a-z]{2,4}_[A-Za-z0-9_-]{16,}")
# Chat credentials: Slack tokens (xoxb-..., xapp-...) and Telegram bot tokens in URLs.
_CHAT_TOKEN = re.compile(
    r"\b(?:xox[abposr]|xapp)-[A-Za-z0-9-]{8,}|\bbot[0-9]{5,}:[A-Za-z0-9_-]{20,}"
)
# Email addresses, also URL-encoded (``%40``).
_EMAIL = re.compile(r"[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+")


def redact(text: str) -> str:
    """Mask phone numbers and email addresses and blank out credentials in ``text``.

    The text is first brought to compatibility form (NFKC), so that a number
    written in full-width characters is found too.
    """
    text = unicodedata.normalize("NFKC", text)
    text = UNMASKED_PHONE.sub(lambda m: mask_written_number(m.group(0)), text)
    text = _EMAIL.sub("[email]", text)
    text = _ONY_TOKEN.sub("[redacted]", text)
    text = _CHAT_TOKEN.sub("[redacted]", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}=[redacted]", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, and its traceback, through ``redact`` before any
    handler sees them (an exception's text can quote what was asked, or a URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters use exc_text when it is set, so the redacted text is what they print.
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()
