"""Signed verdicts: the server signs with a device's key, the connector verifies.

One module for both sides, standard library only. A verdict is the server's
answer to one handoff::

    signature = "hmac-sha256:" + hex(HMAC-SHA256(decision_key,
                b"ony-verdict-v1\\n" + canonical(verdict without "signature")))

The connector honours a verdict only if ``is_approval`` says so: the
signature verifies with its own key (in constant time), the verdict is bound
to the request it is waiting for (device, request, nonce, action, target,
risk), says ``approve``, and is inside its time window (issued no later than
30 s from now, not yet expired). Anything else is no decision.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import UTC, datetime, timedelta

from ony.canonical import canonical
from ony.connector.hmac256 import compare_digest, hmac_sha256

TYPE_CHECKING = False  # typing is not imported at run time: the hook starts on every tool call
if TYPE_CHECKING:
    from typing import Any

DOMAIN = b"ony-verdict-v1\n"
SCHEME = "hmac-sha256:"
CLOCK_SKEW = timedelta(seconds=30)
DECISIONS = frozenset({"approve", "deny", "ask"})
DECIDED_VIA = frozenset(
    {"ivr", "dashboard", "api", "telegram", "slack", "policy", "deadline", "cancel"}
)
#: The fields of a version 1 verdict and their types, besides ``signature``.
FIELDS: dict[str, type] = {
    "v": int,
    "request_id": str,
    "device_id": str,
    "agent_session_id": str,
    "action": str,
    "target": str,
    "risk": str,
    "decision": str,
    "decided_via": str,
    "nonce": str,
    "issued_at": str,
    "expires_at": str,
    "audit_seq": int,
    "audit_hash": str,
}


class VerdictRejected(Exception):
    """The verdict must not be honoured; ``reason`` is a stable snake_case code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


class Expected(namedtuple("Expected", "device_id request_id nonce action target risk")):
    """What the connector asked for, and the risk the server answered with."""

    __slots__ = ()


def signature(key: bytes, unsigned: dict[str, Any]) -> str:
    """The ``signature`` value for a verdict without one."""
    digest = hmac_sha256(key, DOMAIN + canonical(unsigned)).hex()
    return SCHEME + digest


def sign(key: bytes, unsigned: dict[str, Any]) -> dict[str, Any]:
    """The verdict with its signature added (``unsigned`` is left as it is)."""
    if "signature" in unsigned:
        raise ValueError("the verdict is already signed")
    return {**unsigned, "signature": signature(key, unsigned)}


def signature_valid(key: bytes, verdict: Any) -> bool:
    """Whether ``verdict`` carries a valid signature by ``key`` (constant-time compare)."""
    if not isinstance(verdict, dict) or not isinstance(verdict.get("signature"), str):
        return False
    unsigned = {k: v for k, v in verdict.items() if k != "signature"}
    try:
        expected = signature(key, unsigned)
    except ValueError:  # off the canonical profile: nothing the server signs
        return False
    return compare_digest(expected.encode(), verdict["signature"].encode("utf-8", "replace"))


def parse_time(value: str) -> datetime:
    """RFC 3339 in UTC with ``Z`` -> an aware datetime; ``ValueError`` otherwise."""
    if not value.endswith("Z"):
        raise ValueError("times are UTC with Z")
    parsed = datetime.fromisoformat(value[:-1] + "+00:00")
    return parsed.astimezone(UTC)


def format_verdict_time(moment: datetime) -> str:
    """An aware datetime -> ``2026-06-30T14:22:07Z`` (whole seconds, UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def authenticate(key: bytes, verdict: Any, expected: Expected) -> str:
    """Check a verdict's form, signature and binding; return its decision.

    Raises ``VerdictRejected`` unless the verdict is a well-formed version 1
    verdict, signed with ``key``, for exactly the request in ``expected``.
    """
    if not isinstance(verdict, dict):
        raise VerdictRejected("malformed", "a verdict is a JSON object")
    if set(verdict) != {*FIELDS, "signature"}:
        raise VerdictRejected("malformed", "a verdict has exactly the version 1 fields")
    for name, kind in FIELDS.items():
        value = verdict[name]
        if type(value) is not kind:  # bool is not an int here
            raise VerdictRejected("malformed", f"{name} must be {kind.__name__}")
    if verdict["v"] != 1:
        raise VerdictRejected("malformed", "unknown verdict version")
    if not signature_valid(key, verdict):
        raise VerdictRejected("bad_signature", "the signature does not verify with this key")
    for name in ("device_id", "request_id", "nonce", "action", "target", "risk"):
        if verdict[name] != getattr(expected, name):
            raise VerdictRejected("mismatch", f"{name} is not the one asked for")
    if verdict["decision"] not in DECISIONS or verdict["decided_via"] not in DECIDED_VIA:
        raise VerdictRejected("malformed", "unknown decision or channel")
    return verdict["decision"]


def check_time(verdict: dict[str, Any], now: datetime) -> None:
    """Raise ``VerdictRejected`` unless ``issued_at <= now + 30 s`` and ``now <= expires_at``."""
    try:
        issued, expires = parse_time(verdict["issued_at"]), parse_time(verdict["expires_at"])
    except (KeyError, TypeError, ValueError):
        raise VerdictRejected("malformed", "issued_at and expires_at are RFC 3339 UTC") from None
    if issued > now + CLOCK_SKEW:
        raise VerdictRejected("not_yet_valid", "issued in the future")
    if now > expires:
        raise VerdictRejected("expired", "the verdict has expired")


def is_approval(key: bytes, verdict: Any, expected: Expected, now: datetime | None = None) -> bool:
    """True only for an authentic, bound, current ``approve``. Never raises."""
    try:
        if authenticate(key, verdict, expected) != "approve":
            return False
        check_time(verdict, now or datetime.now(UTC))
    except VerdictRejected:
        return False
    return True
