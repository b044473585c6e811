"""The one seam to Slack: post, update and open dialogs through ``slack_sdk``; check signatures.

``SLACK_API_URL`` moves the Web API (a proxy, a test double); every call has
a timeout, and every failure comes out as a ``chat.errors`` exception.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier

from chat.errors import ChatError, NotConfigured, TemporaryError, Unreachable

HTTP_TIMEOUT_SECONDS = 10
#: Slack's errors meaning "this person cannot be messaged here".
UNREACHABLE = frozenset(
    {
        "channel_not_found",
        "user_not_found",
        "users_not_found",
        "cannot_dm_bot",
        "user_disabled",
        "account_inactive",
        "is_archived",
        "messages_tab_disabled",
        "not_in_channel",
    }
)
#: Slack's errors worth another try later.
TEMPORARY = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
#: Signature headers as Slack sends them; anything else is refused before hashing.
SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")
TIMESTAMP = re.compile(r"^[0-9]{1,12}$")

T = TypeVar("T")


def configured() -> bool:
    """Whether Slack approvals are on: a bot token and a signing secret."""
    return bool(settings.SLACK_BOT_TOKEN and settings.SLACK_SIGNING_SECRET)


def is_signed(body: bytes, timestamp: str, signature: str) -> bool:
    """Whether Slack signed ``body`` (v0 HMAC-SHA256 over ``v0:{timestamp}:{body}``).

    Refuses a timestamp more than five minutes from now, and headers or a
    body that are not what Slack sends (checked before any hashing).
    """
    if not settings.SLACK_SIGNING_SECRET:
        return False
    if not TIMESTAMP.match(timestamp) or not SIGNATURE.match(signature):
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    verifier = SignatureVerifier(settings.SLACK_SIGNING_SECRET)
    return verifier.is_valid(body=text, timestamp=timestamp, signature=signature)


def _client() -> WebClient:
    if not settings.SLACK_BOT_TOKEN:
        raise NotConfigured("SLACK_BOT_TOKEN is not set")
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL + "/",
        timeout=HTTP_TIMEOUT_SECONDS,
    )


def _classified(call: Callable[[], T]) -> T:
    try:
        return call()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "unknown")[:64]
        status = exc.response.status_code
        if status == 429 or status >= 500 or error in TEMPORARY:
            raise TemporaryError(f"Slack answered {status} ({error})") from None
        if error in UNREACHABLE:
            raise Unreachable(f"Slack cannot reach this person ({error})") from None
        raise ChatError(f"Slack refused the request ({status}, {error})") from None
    except (SlackClientError, OSError, http.client.HTTPException) as exc:
        raise TemporaryError(f"Slack unreachable: {type(exc).__name__}") from None
    except (LookupError, ValueError, TypeError) as exc:
        # An answer the client could not read (a bad status line, an unknown
        # charset, a cut-off body): Slack, or what stands in front of it, erred.
        raise TemporaryError(f"Slack answered oddly: {type(exc).__name__}") from None


def post_message(user_id: str, text: str, blocks: list[dict[str, Any]]) -> tuple[str, str]:
    """Send a direct message to ``user_id``; returns its ``(channel, ts)``."""
    client = _client()
    response = _classified(
        lambda: client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
    )
    return str(response["channel"]), str(response["ts"])


def update_message(channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
    """Replace the message ``ts`` in ``channel`` (its buttons go unless ``blocks`` has them)."""
    client = _client()
    _classified(lambda: client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks))


def open_view(trigger_id: str, view: dict[str, Any]) -> None:
    """Open a modal in answer to an interaction (its ``trigger_id`` lasts 3 seconds)."""
    client = _client()
    _classified(lambda: client.views_open(trigger_id=trigger_id, view=view))
