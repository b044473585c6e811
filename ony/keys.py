"""Parsing of the key material that settings read from the environment.

Every parser raises ``ImproperlyConfigured`` with a message that names the
variable and says what shape it expects, so a misconfigured server stops at
start-up instead of failing on the first request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from django.core.exceptions import ImproperlyConfigured

# Development-only defaults, used only while DEBUG is on. They are derived from
# public constants, so anything protected by them is protected by nothing.
DEV_SECRET_KEY = "ony-development-only-" + hashlib.sha256(b"ony-dev-secret").hexdigest()
DEV_ENCRYPTION_KEYS = base64.urlsafe_b64encode(hashlib.sha256(b"ony-dev-encryption").digest())
DEV_AUDIT_KEYS = "dev:" + base64.b64encode(hashlib.sha256(b"ony-dev-audit").digest()).decode()
DEV_CHECKPOINT_KEY = base64.b64encode(hashlib.sha256(b"ony-dev-checkpoint").digest()).decode()

_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MIN_AUDIT_KEY_BYTES = 32


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_fernet_keys(value: str | bytes, name: str = "ONY_ENCRYPTION_KEYS") -> list[bytes]:
    """Return the Fernet keys in ``value`` (comma-separated, newest first).

    Each key is 32 bytes in URL-safe base64, as ``Fernet.generate_key()`` makes.
    """
    if isinstance(value, bytes):
        value = value.decode()
    parts = _split(value)
    if not parts:
        raise ImproperlyConfigured(f"{name} is empty: give at least one Fernet key.")
    keys = []
    for index, part in enumerate(parts, start=1):
        try:
            raw = base64.urlsafe_b64decode(part.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ImproperlyConfigured(
                f"{name}: key {index} is not a Fernet key (32 bytes, URL-safe base64). "
                "Make one with: python -m ony.devenv --fernet-key"
            )
        keys.append(part.encode())
    return keys


def parse_audit_keys(value: str, name: str = "ONY_AUDIT_KEYS") -> dict[str, bytes]:
    """Return ``{key_id: key}`` from ``id:base64`` pairs, in the order given.

    The first pair signs new audit entries; all of them verify old ones. Keys
    must be at least 32 bytes and ids unique.
    """
    parts = _split(value)
    if not parts:
        raise ImproperlyConfigured(f"{name} is empty: give at least one id:base64 pair.")
    keys: dict[str, bytes] = {}
    for index, part in enumerate(parts, start=1):
        key_id, sep, encoded = part.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise ImproperlyConfigured(
                f"{name}: entry {index} is not of the form id:base64 "
                "(id of letters, digits, '_' or '-')."
            )
        try:
            raw = base64.b64decode(encoded.encode(), validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"{name}: key {key_id!r} is not valid base64.") from None
        if len(raw) < MIN_AUDIT_KEY_BYTES:
            raise ImproperlyConfigured(
                f"{name}: key {key_id!r} is {len(raw)} bytes; it needs at least "
                f"{MIN_AUDIT_KEY_BYTES}."
            )
        if key_id in keys:
            raise ImproperlyConfigured(f"{name}: key id {key_id!r} appears twice.")
        keys[key_id] = raw
    return keys


def _b64_32(value: str, name: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip().encode(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{name}: {what} must be 32 bytes in base64.")
    return raw


def parse_ed25519_private_key(value: str, name: str = "ONY_CHECKPOINT_KEY") -> bytes:
    """The raw 32-byte Ed25519 private key (seed) from its base64 form."""
    return _b64_32(value, name, "the Ed25519 private key")


def parse_ed25519_public_keys(value: str, name: str) -> list[bytes]:
    """Comma-separated base64 Ed25519 public keys (may be empty)."""
    return [_b64_32(part, name, "each Ed25519 public key") for part in _split(value)]
