"""Bearer secrets: generated with a recognisable prefix, stored only as SHA-256."""

from __future__ import annotations

import base64
import hashlib
import secrets

ENROLLMENT_PREFIX = "ony_enr_"
DEVICE_PREFIX = "ony_dev_"


def new_token(prefix: str) -> str:
    """A fresh bearer token; the prefix lets secret scanners recognise a leaked one."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_decision_key() -> str:
    """32 random bytes, base64url without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
