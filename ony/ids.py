"""Public identifiers: a type prefix and 12 random lowercase hex characters."""

from __future__ import annotations

import secrets


def new_public_id(prefix: str) -> str:
    """``new_public_id("org")`` -> ``"org_3f9a1c84b27d"``."""
    return f"{prefix}_{secrets.token_hex(6)}"


def org_id() -> str:
    return new_public_id("org")


def member_id() -> str:
    return new_public_id("mem")


def user_id() -> str:
    return new_public_id("usr")


def device_id() -> str:
    return new_public_id("dev")


def request_id() -> str:
    return new_public_id("req")


def invitation_id() -> str:
    return new_public_id("inv")
