"""The one seam to Telegram's Bot API: send, edit and delete messages, answer buttons.

Plain HTTPS calls with ``requests`` (python-telegram-bot is asyncio-first and
far more than a webhook needs). ``TELEGRAM_API_URL`` moves the API (a proxy,
a test double). The bot token is part of every URL, so no URL, request or
library exception is ever logged or raised from here: failures come out as
``chat.errors`` exceptions with a short description only.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import requests
from django.conf import settings

from chat.errors import ChatError, NotConfigured, TemporaryError, Unreachable
from ony.cache import shared

HTTP_TIMEOUT_SECONDS = 10
#: How long the bot's username (for ``t.me`` links) is remembered.
USERNAME_CACHE_SECONDS = 24 * 3600


def configured() -> bool:
    """Whether Telegram approvals are on: a bot token and a webhook secret."""
    return bool(settings.TELEGRAM_BOT_TOKEN and settings.TELEGRAM_WEBHOOK_SECRET)


def has_secret(header: str) -> bool:
    """Whether ``header`` (``X-Telegram-Bot-Api-Secret-Token``) is the configured secret."""
    secret = settings.TELEGRAM_WEBHOOK_SECRET
    if not secret or not header:
        return False
    return hmac.compare_digest(header.encode("utf-8", "replace"), secret.encode("utf-8"))


def _call(method: str, **params: Any) -> Any:
    """Call Bot API ``method`` with JSON ``params``; its ``result``."""
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        raise NotConfigured("TELEGRAM_BOT_TOKEN is not set")
    url = f"{settings.TELEGRAM_API_URL}/bot{token}/{method}"
    try:
        response = requests.post(url, json=params, timeout=HTTP_TIMEOUT_SECONDS)
    except (requests.RequestException, ValueError) as exc:
        raise TemporaryError(f"Telegram unreachable: {type(exc).__name__}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status_code == 200 and body.get("ok") is True:
        return body.get("result")
    description = str(body.get("description") or "")[:120]
    status = response.status_code
    if status == 429 or status >= 500:
        raise TemporaryError(f"Telegram answered {status}")
    if status == 403 or "chat not found" in description.lower():
        raise Unreachable(f"Telegram cannot reach this person ({status})")
    raise ChatError(f"Telegram refused {method} ({status}): {description}")


def send_message(chat_id: str, html: str, buttons: list[tuple[str, str]] | None = None) -> str:
    """Send ``html`` (Telegram's HTML subset) to ``chat_id``; returns the message id.

    ``buttons``: ``(label, callback_data)`` pairs, in one row.
    """
    params: dict[str, Any] = {
        "chat_id": chat_id,
        "text": html,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if buttons:
        row = [{"text": label, "callback_data": data} for label, data in buttons]
        params["reply_markup"] = {"inline_keyboard": [row]}
    return _message_id(_call("sendMessage", **params))


def _message_id(message: Any) -> str:
    """The id of the message Telegram says it sent (it must say)."""
    if not isinstance(message, dict) or not isinstance(message.get("message_id"), int):
        raise ChatError("Telegram answered without a message id")
    return str(message["message_id"])


def ask_for_reply(chat_id: str, html: str) -> str:
    """Send ``html`` asking for a reply (``force_reply``); returns the message id."""
    message = _call(
        "sendMessage",
        chat_id=chat_id,
        text=html,
        parse_mode="HTML",
        reply_markup={"force_reply": True, "input_field_placeholder": "6-digit code"},
    )
    return _message_id(message)


def edit_message(chat_id: str, message_id: str, html: str) -> None:
    """Replace the text of message ``message_id``; its buttons go."""
    try:
        _call(
            "editMessageText",
            chat_id=chat_id,
            message_id=int(message_id),
            text=html,
            parse_mode="HTML",
            link_preview_options={"is_disabled": True},
        )
    except ChatError as exc:
        if "not modified" not in str(exc):  # already shows this text: done
            raise


def delete_message(chat_id: str, message_id: str) -> None:
    _call("deleteMessage", chat_id=chat_id, message_id=int(message_id))


def answer_button(callback_query_id: str, text: str) -> None:
    """Answer a button press (the person sees ``text`` briefly)."""
    _call("answerCallbackQuery", callback_query_id=callback_query_id, text=text[:200])


def set_webhook(url: str) -> None:
    """Have Telegram post updates to ``url`` with the configured secret."""
    _call(
        "setWebhook",
        url=url,
        secret_token=settings.TELEGRAM_WEBHOOK_SECRET,
        allowed_updates=["message", "callback_query"],
    )


def bot_username() -> str:
    """The bot's ``@username`` without the ``@`` (asked once a day; for ``t.me`` links)."""
    # Keyed by a digest of the token: another bot, another name; no token in the cache.
    digest = hashlib.sha256(settings.TELEGRAM_BOT_TOKEN.encode()).hexdigest()[:16]
    key = f"telegram-bot-username:{digest}"
    username = shared(lambda cache: cache.get(key))
    if username is None:
        me = _call("getMe")
        username = str(me.get("username") or "") if isinstance(me, dict) else ""
        if not username:
            raise ChatError("Telegram did not say the bot's username")
        shared(lambda cache: cache.set(key, username, USERNAME_CACHE_SECONDS))
    return username
