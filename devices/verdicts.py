"""Signing verdicts on the server, with the very module the connector verifies with."""

from ony.connector.verdict import (
    Expected,
    VerdictRejected,
    authenticate,
    format_verdict_time,
    is_approval,
    sign,
    signature,
    signature_valid,
)

__all__ = [
    "Expected",
    "VerdictRejected",
    "authenticate",
    "format_verdict_time",
    "is_approval",
    "sign",
    "signature",
    "signature_valid",
]
