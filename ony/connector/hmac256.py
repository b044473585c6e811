"""HMAC-SHA256 without loading OpenSSL, for the hook's start-up.

``import hashlib`` (and so ``import hmac``) loads OpenSSL's libcrypto, which
costs the hook several milliseconds on every tool call; verdicts are small,
and CPython's built-in SHA-256 module loads at once. Where that module is
missing (an unusual build) the standard ``hmac`` module is used. Tests check
both give the same digests.
"""

from __future__ import annotations

from _operator import _compare_digest as compare_digest

# CPython's private built-in modules have no type stubs (typeshed leaves them
# out), so mypy cannot see them: hence the two ignores.
try:  # the built-in module's name: _sha2 from Python 3.12, _sha256 before
    from _sha2 import sha256  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the Python version
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]
    except ImportError:
        sha256 = None

__all__ = ["compare_digest", "hmac_sha256"]

BLOCK = 64
_INNER = bytes(x ^ 0x36 for x in range(256))
_OUTER = bytes(x ^ 0x5C for x in range(256))


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of ``message`` under ``key``: the raw 32-byte digest."""
    if sha256 is None:  # pragma: no cover
        import hashlib
        import hmac

        return hmac.new(key, message, hashlib.sha256).digest()
    if len(key) > BLOCK:
        key = sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    inner = sha256(key.translate(_INNER) + message).digest()
    return sha256(key.translate(_OUTER) + inner).digest()
