"""Webhook signatures, as SignalWire and Twilio compute them.

The signature is base64 HMAC-SHA1, keyed with the signing key, over the URL
the provider requested followed by the POST parameters sorted by name, each
name then its value. Ony computes the URL from ``ONY_PUBLIC_URL`` and the
request's full path (never from the ``Host`` header a caller controls).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import RequestValidator

SIGNATURE_HEADERS = ("HTTP_X_SIGNALWIRE_SIGNATURE", "HTTP_X_TWILIO_SIGNATURE")


def sign(signing_key: str, url: str, params: Mapping[str, object]) -> str:
    """The signature a provider sends for a POST of ``params`` to ``url``."""
    return RequestValidator(signing_key).compute_signature(url, params)


def public_url(request: HttpRequest) -> str:
    return settings.ONY_PUBLIC_URL + request.get_full_path()


def is_signed(request: HttpRequest, signing_key: str) -> bool:
    """Whether ``request`` carries a valid signature (SignalWire's header first, then Twilio's)."""
    signature = next((request.META[h] for h in SIGNATURE_HEADERS if request.META.get(h)), "")
    if not signature or not signing_key:
        return False
    return RequestValidator(signing_key).validate(public_url(request), request.POST, signature)
