"""What a device is given: token prefixes, and its decision key."""

from __future__ import annotations

import base64
import secrets

ENROLLMENT_PREFIX = "ony_enr_"
DEVICE_PREFIX = "ony_dev_"


def new_decision_key() -> str:
    """32 random bytes, base64url without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
