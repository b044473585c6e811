"""Webhooks from Slack and Telegram. Thin: authenticate, parse, call one ``chat.answers`` function.

Nothing is parsed before the request is authenticated (Slack's signature,
Telegram's secret header). Every refusal is ``{"code", "detail"}`` with a
4xx status; a replay changes nothing.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers

from chat import answers, slack, telegram
from chat.serializers import SlackBlockActions, SlackViewSubmission, TelegramUpdate
from ony.api.parsers import MAX_DEPTH, depth_exceeds
from ony.cache import shared

#: How long a seen request is remembered: past Slack's 5-minute signature window.
REPLAY_WINDOW_SECONDS = 10 * 60
MAX_BODY_BYTES = 64 * 1024
START = re.compile(r"^/start(?:@[A-Za-z0-9_]{1,64})? ([A-Za-z0-9_-]{1,64})$")


def _error(code: str, detail: str, status: int) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def post_only(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Webhooks are POSTs: anything else is a JSON 405 (and no CSRF: they carry their own proof)."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return _error("method_not_allowed", "Webhooks are POST requests.", 405)
        return view(request)

    return wrapper


class BadPayload(Exception):
    pass


def _json(text: str) -> Any:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise BadPayload("The payload is not JSON.") from None
    if depth_exceeds(data, MAX_DEPTH):
        raise BadPayload("The payload is nested too deeply.")
    return data


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    checked = serializer_class(data=data)
    if not checked.is_valid():
        raise BadPayload("The payload is not one Ony can answer.")
    return dict(checked.validated_data)


def _body(request: HttpRequest) -> bytes | None:
    """The request's body, or ``None`` when it is (or says it is) too large to read."""
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
            return None
        body = request.body
    except (ValueError, RequestDataTooBig):
        return None
    return body if len(body) <= MAX_BODY_BYTES else None


def _slack_payload(body: bytes) -> Any:
    """The ``payload`` field of Slack's form-encoded body, as JSON."""
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        raise BadPayload("The body is not Slack's form.") from None
    return _json(fields.get("payload", [""])[0])


def _first_time(key: str) -> bool:
    """Whether this request is new (remembered for the replay window, in the shared cache)."""
    return shared(lambda cache: cache.add(f"ony:chat-seen:{key}", 1, timeout=REPLAY_WINDOW_SECONDS))


@post_only
def slack_interactions(request: HttpRequest) -> HttpResponse:
    """``POST /chat/slack/interactions``: button clicks and the code dialog."""
    if not slack.configured():
        return _error("chat_off", "Slack approvals are not configured.", 404)
    body = _body(request)
    if body is None:
        return _error("request_too_large", "The request body is too large.", 413)
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not slack.is_signed(body, timestamp, signature):
        return _error("invalid_signature", "Missing, stale or invalid Slack signature.", 403)
    if not _first_time(f"slack:{signature}"):
        return _error("replayed", "This request was already received.", 409)
    try:
        payload = _slack_payload(body)
        kind = payload.get("type") if isinstance(payload, dict) else None
        if kind == "block_actions":
            click = _valid(SlackBlockActions, payload)
            action = click["actions"][0]
            answers.slack_button(
                click["user"]["id"], action["action_id"], action["value"], click["trigger_id"]
            )
            return HttpResponse(status=200)
        if kind == "view_submission":
            submitted = _valid(SlackViewSubmission, payload)
            reply = answers.slack_code(
                submitted["user"]["id"], submitted["view"]["private_metadata"], submitted["otp"]
            )
            return JsonResponse(reply)
    except BadPayload as exc:
        return _error("invalid_payload", str(exc), 400)
    except answers.ChatRefusal as refusal:
        return _error(refusal.code, refusal.detail, refusal.status)
    return _error("unsupported_interaction", "Ony answers buttons and its code dialog only.", 400)


@post_only
def telegram_webhook(request: HttpRequest) -> HttpResponse:
    """``POST /chat/telegram/webhook``: button presses, code replies and ``/start`` links.

    Answered 200 once authenticated and understood, whatever came of it (the
    person is told in Telegram); Telegram would resend anything else.
    """
    if not telegram.configured():
        return _error("chat_off", "Telegram approvals are not configured.", 404)
    if not telegram.has_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")):
        return _error("invalid_secret", "Missing or wrong secret token.", 403)
    body = _body(request)
    if body is None:
        return _error("request_too_large", "The request body is too large.", 413)
    try:
        update = _valid(TelegramUpdate, _json(body.decode("utf-8")))
    except (UnicodeDecodeError, BadPayload):
        return _error("invalid_payload", "The update is not one Ony can read.", 400)
    seen = f"telegram:{update['update_id']}"
    if not _first_time(seen):
        return JsonResponse({"ok": True, "code": "duplicate"})
    try:
        outcome = _telegram(update)
    except Exception:
        # Telegram resends what failed: that resend must not be taken for a replay.
        shared(lambda cache: cache.delete(f"ony:chat-seen:{seen}"))
        raise
    return JsonResponse({"ok": True, "code": outcome})


def _telegram(update: dict[str, Any]) -> str:
    if callback := update.get("callback_query"):
        if "data" not in callback:
            return "ignored"
        return answers.telegram_button(
            callback["id"], str(callback["from"]["id"]), callback["data"]
        )
    message = update.get("message")
    if not message or "from" not in message:
        return "ignored"
    chat_id, from_id = str(message["chat"]["id"]), str(message["from"]["id"])
    text = message.get("text", "")
    if start := START.match(text):
        return answers.telegram_start(chat_id, message["chat"]["type"], from_id, start.group(1))
    replied = message.get("reply_to_message")
    reply_to = str(replied["message_id"]) if replied else ""
    return answers.telegram_reply(chat_id, from_id, str(message["message_id"]), reply_to, text)
