"""Ed25519 signatures for checkpoints (key from ONY_CHECKPOINT_KEY).

Anyone holding the public key (``GET /api/v1/audit/public-key``) can check a
checkpoint; only the server, holding the private key, can make one.
"""

from __future__ import annotations

import base64
import binascii
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.signals import setting_changed

DOMAIN = b"ony-checkpoint-v1\n"


@cache
def _private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(settings.ONY_CHECKPOINT_KEY)


@cache
def _verifying_keys() -> tuple[Ed25519PublicKey, ...]:
    retired = [Ed25519PublicKey.from_public_bytes(k) for k in settings.ONY_CHECKPOINT_RETIRED_KEYS]
    return (_private_key().public_key(), *retired)


def _reset(*, setting: str, **kwargs: object) -> None:
    if setting in ("ONY_CHECKPOINT_KEY", "ONY_CHECKPOINT_RETIRED_KEYS"):
        _private_key.cache_clear()
        _verifying_keys.cache_clear()


setting_changed.connect(_reset)


def public_key_b64() -> str:
    raw = _private_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign(note: bytes) -> str:
    """Base64 signature of ``DOMAIN + note``."""
    return base64.b64encode(_private_key().sign(DOMAIN + note)).decode()


def verify(note: bytes, signature: str) -> bool:
    """Whether the current or a retired checkpoint key signed ``note``."""
    try:
        raw = base64.b64decode(signature.encode(), validate=True)
    except (binascii.Error, ValueError):
        return False
    for key in _verifying_keys():
        try:
            key.verify(raw, DOMAIN + note)
            return True
        except InvalidSignature:
            continue
    return False
