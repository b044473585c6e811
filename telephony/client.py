"""The one seam to the telephony provider: create and end calls, send texts, through twilio.

SignalWire speaks Twilio's REST API under ``https://{space}/api/laml``, so
the ``twilio`` client serves both (and the built-in simulator, which speaks
the same wire format). Every failure comes out as one of three exceptions:

- ``InvalidNumber``: the provider says the number does not exist; retrying
  cannot help, and the member's number is flagged.
- ``CannotCall``: the number exists but cannot be called from here (geographic
  permissions, a blocked destination); a text message may still reach it.
- ``TemporaryError``: the network, a 5xx, a rate limit: retry with backoff.
- ``ProviderError`` (the base): anything else permanent, such as bad
  credentials; not the member's fault, not worth retrying.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from telephony.conf import Provider
from telephony.conf import provider as configured_provider

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 15
#: Twilio error codes (SignalWire uses the same) meaning "no such number".
INVALID_NUMBER_CODES = frozenset({13223, 13224, 21211, 21217, 21401, 21614})
#: Codes meaning "a real number we may not call": try a text message.
CANNOT_CALL_CODES = frozenset({13225, 21215, 21216})


class ProviderError(Exception):
    """A permanent failure that is not about the number."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class InvalidNumber(ProviderError):
    pass


class CannotCall(ProviderError):
    pass


class TemporaryError(ProviderError):
    pass


class NotConfigured(ProviderError):
    pass


T = TypeVar("T")


def _classified(call: Callable[[], T]) -> T:
    try:
        return call()
    except TwilioRestException as exc:
        code = exc.code
        if code in INVALID_NUMBER_CODES:
            raise InvalidNumber(exc.msg, code) from None
        if code in CANNOT_CALL_CODES:
            raise CannotCall(exc.msg, code) from None
        if exc.status == 429 or exc.status >= 500:
            raise TemporaryError(f"provider answered {exc.status}", code) from None
        raise ProviderError(f"provider refused the request ({exc.status}, {code})", code) from None
    except (requests.RequestException, OSError, TwilioException) as exc:
        raise TemporaryError(f"provider unreachable: {type(exc).__name__}") from None


def required_provider() -> Provider:
    """The configured provider; ``NotConfigured`` when there is none."""
    provider = configured_provider()
    if provider is None:
        raise NotConfigured("no telephony provider is configured")
    return provider


def twilio_client(provider: Provider | None = None) -> Client:
    """A twilio ``Client`` for ``provider`` (the configured one by default)."""
    provider = provider or required_provider()
    # A client per use (tasks are short and rare), so no connection pool to keep open.
    http = TwilioHttpClient(pool_connections=False, timeout=HTTP_TIMEOUT_SECONDS)
    client = Client(provider.project, provider.token, http_client=http)
    if provider.api_base_url:
        client.api.base_url = provider.api_base_url
    return client


def create_call(to: str, *, url: str, status_callback: str, ring_seconds: int) -> str:
    """Ring ``to``; the provider fetches ``url`` for cXML once answered. Returns the call sid.

    Only the final status is posted to ``status_callback`` (completed, busy,
    no-answer, failed or canceled); machine detection reports ``AnsweredBy``.
    """
    provider = required_provider()
    client = twilio_client(provider)
    call = _classified(
        lambda: client.calls.create(
            to=to,
            from_=provider.from_number,
            url=url,
            method="POST",
            status_callback=status_callback,
            status_callback_method="POST",
            machine_detection="Enable",
            timeout=ring_seconds,
        )
    )
    return call.sid


def end_call(call_sid: str, *, answered: bool) -> None:
    """Stop a call: ``canceled`` while it rings, ``completed`` once answered."""
    client = twilio_client()
    status = "completed" if answered else "canceled"
    _classified(lambda: client.calls(call_sid).update(status=status))


def send_sms(to: str, body: str) -> str:
    """Text ``body`` to ``to``; returns the message sid."""
    provider = required_provider()
    client = twilio_client(provider)
    message: Any = _classified(
        lambda: client.messages.create(to=to, from_=provider.from_number, body=body)
    )
    return message.sid
