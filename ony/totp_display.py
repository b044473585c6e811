"""Showing a TOTP secret to a person at a terminal: URI, base32 secret, QR code."""

from __future__ import annotations

import io
from base64 import b32encode

import segno

from ony.models import TOTPDevice


def describe(device: TOTPDevice, *, qr: bool = True) -> str:
    """Lines that let a person add ``device`` to an authenticator app."""
    secret = b32encode(device.bin_key).decode()
    lines = [
        f"TOTP secret:    {secret}",
        f"otpauth URI:    {device.config_url}",
    ]
    if qr:
        out = io.StringIO()
        segno.make(device.config_url, error="m").terminal(out=out, compact=True)
        lines += ["Scan with an authenticator app:", out.getvalue().rstrip("\n")]
    return "\n".join(lines)
