"""Slack and Telegram as Ony meets them: their Web and Bot APIs, and their signed webhooks.

The only fakes are the two services. ``FakeSlack`` and ``FakeTelegram`` are
HTTP servers speaking the services' wire formats, reached through the real
clients (``slack_sdk``, ``requests``) at ``SLACK_API_URL`` and
``TELEGRAM_API_URL``; what they were asked is recorded. The webhooks Ony
receives are built here as the services build them: Slack's form-encoded
``payload`` signed with v0 HMAC-SHA256, Telegram's JSON ``Update`` with the
secret token header.

Acme's on-call approvers are Alice (admin, first) and Bob (member, second),
each with Slack and Telegram linked; Carol is an on-call viewer (never
messaged); Gina belongs to Globex.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import unittest
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

from django.core.cache import cache
from django.db import connection
from django.test import Client, LiveServerTestCase, TransactionTestCase, override_settings
from django.utils import timezone

from audit.events import SYSTEM
from audit.models import AuditEntry
from chat.models import ChatMessage, MessageStatus
from devices.models import Device
from handoffs.models import Handoff, Status
from ony import services as org_services
from ony.connector.sdk import Ony
from ony.models import Membership, TOTPDevice, User
from ony.roles import Role
from telephony.simulator import simulator
from tests.base import current_code, enroll_device, make_handoff
from tests.celery_worker import running_worker
from tests.connector import ConnectorHome
from tests.servers import until
from tests.telephony import Asking

SLACK_TOKEN = "xoxb-1111-2222-testtoken"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TELEGRAM_SECRET = "ony-telegram-webhook-secret_42"
WAIT = 20


class _Server:
    """A ThreadingHTTPServer on a free port that records each call as ``(method, params)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        #: Answers to give before any normal one: ``(status, body)``, used up in order.
        self.failures: list[tuple[int, dict[str, Any]]] = []
        #: Bytes to answer with instead of HTTP (a broken proxy, say), used up first.
        self.garbage: list[bytes] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with outer.lock:
                    raw = outer.garbage.pop(0) if outer.garbage else None
                if raw is not None:
                    self.wfile.write(raw)
                    self.close_connection = True
                    return
                status, answer = outer.handle(self.path, dict(self.headers), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass  # quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def record(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        with self.lock:
            self.calls.append((method, params))
            return self.failures.pop(0) if self.failures else None

    def called(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [params for name, params in self.calls if name == method]

    def wait_for(self, method: str, count: int = 1) -> list[dict[str, Any]]:
        until(lambda: len(self.called(method)) >= count, WAIT, f"{count} {method} call(s)")
        return self.called(method)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError


def _params(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    kind = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    if kind.startswith("application/json"):
        return json.loads(body or b"{}")
    return {key: values[0] for key, values in parse_qs(body.decode()).items()}


class FakeSlack(_Server):
    """Slack's Web API: ``chat.postMessage``, ``chat.update``, ``views.open``."""

    def __init__(self) -> None:
        self.unreachable: set[str] = set()
        self._ts = itertools.count(1)
        super().__init__()

    def handle(self, path, headers, body):
        method = path.removeprefix("/api/")
        if {k.lower(): v for k, v in headers.items()}.get(
            "authorization"
        ) != f"Bearer {SLACK_TOKEN}":
            return 200, {"ok": False, "error": "invalid_auth"}
        params = _params(headers, body)
        for key in ("blocks", "view"):  # form-encoded calls carry JSON strings
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        failure = self.record(method, params)
        if failure:
            return failure
        if method == "chat.postMessage":
            user = params["channel"]
            if user in self.unreachable:
                return 200, {"ok": False, "error": "channel_not_found"}
            ts = f"{1700000000 + next(self._ts)}.000100"
            channel = "D" + user[1:]  # the app's direct-message channel with the user
            return 200, {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": params.get("text")},
            }
        if method == "chat.update":
            return 200, {"ok": True, "channel": params["channel"], "ts": params["ts"]}
        if method == "views.open":
            return 200, {"ok": True, "view": {"id": "V0123", **params["view"]}}
        return 200, {"ok": False, "error": "unknown_method"}

    def messages_to(self, user_id: str) -> list[dict[str, Any]]:
        return [p for p in self.called("chat.postMessage") if p["channel"] == user_id]


class FakeTelegram(_Server):
    """Telegram's Bot API: messages, edits, deletions, button answers, the webhook, getMe."""

    USERNAME = "ony_test_bot"

    def __init__(self) -> None:
        self.blocked: set[str] = set()
        self._ids = itertools.count(100)
        super().__init__()

    def handle(self, path, headers, body):
        prefix = f"/bot{TELEGRAM_TOKEN}/"
        if not path.startswith(prefix):
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        method = path.removeprefix(prefix)
        params = _params(headers, body)
        failure = self.record(method, params)
        if failure:
            return failure
        chat = str(params.get("chat_id", ""))
        if chat in self.blocked:
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        if method == "getMe":
            return 200, {
                "ok": True,
                "result": {"id": 42, "is_bot": True, "username": self.USERNAME},
            }
        if method in ("sendMessage", "editMessageText"):
            message_id = params.get("message_id") or next(self._ids)
            message = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": int(chat), "type": "private"},
                "text": params["text"],
            }
            return 200, {"ok": True, "result": message}
        if method in ("deleteMessage", "answerCallbackQuery", "setWebhook"):
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def sent_to(self, chat_id: str) -> list[dict[str, Any]]:
        return [p for p in self.called("sendMessage") if str(p["chat_id"]) == chat_id]


def chat_settings(slack: FakeSlack, telegram: FakeTelegram) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": SLACK_SECRET,
        "SLACK_API_URL": slack.base + "/api",
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_URL": telegram.base,
    }


# What Slack posts to the interactivity URL.


def slack_signature(secret: str, timestamp: str, body: str) -> str:
    """Slack's v0 signature, computed as its documentation describes."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post_to_slack_url(
    client: Client,
    payload: dict[str, Any] | str,
    *,
    secret: str = SLACK_SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
) -> Any:
    """POST ``payload`` as Slack does: form-encoded ``payload=<json>``, signed."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    body = urlencode({"payload": text})
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return client.post(
        "/chat/slack/interactions",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=stamp,
        HTTP_X_SLACK_SIGNATURE=signature or slack_signature(secret, stamp, body),
    )


def slack_click(message: dict[str, Any], user_id: str, action: str) -> dict[str, Any]:
    """A ``block_actions`` payload: ``user_id`` pressed ``action`` (Approve or Deny) on ``message``.

    ``message`` is what Ony posted (``chat.postMessage`` parameters).
    """
    buttons = next(b for b in message["blocks"] if b["type"] == "actions")["elements"]
    button = next(b for b in buttons if b["text"]["text"] == action)
    return {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": "T0001",
        },
        "api_app_id": "A0001",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1700000001.000100", "channel_id": "D0001"},
        "trigger_id": f"1337.{abs(hash(user_id)) % 10**8}.abc123",
        "team": {"id": "T0001", "domain": "acme"},
        "channel": {"id": "D0001", "name": "directmessage"},
        "message": {"type": "message", "text": message["text"], "blocks": message["blocks"]},
        "response_url": "https://hooks.slack.com/actions/T0001/1/abc",
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": "ony_decision",
                "text": button["text"],
                "value": button["value"],
                "style": button.get("style"),
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def slack_code_submission(view: dict[str, Any], user_id: str, code: str) -> dict[str, Any]:
    """A ``view_submission`` payload: ``user_id`` typed ``code`` into Ony's dialog ``view``."""
    block = next(b for b in view["blocks"] if b["type"] == "input")
    return {
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "acme"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0001"},
        "api_app_id": "A0001",
        "token": "legacy-verification-token",
        "trigger_id": "1337.2.def456",
        "view": {
            "id": "V0123",
            "team_id": "T0001",
            "type": "modal",
            "blocks": view["blocks"],
            "private_metadata": view["private_metadata"],
            "callback_id": view["callback_id"],
            "state": {
                "values": {
                    block["block_id"]: {
                        block["element"]["action_id"]: {"type": "plain_text_input", "value": code}
                    }
                }
            },
            "hash": "1700000000.abc",
            "title": view["title"],
        },
        "response_urls": [],
    }


# What Telegram posts to the webhook.

_update_ids = itertools.count(int(time.time()))


def post_to_telegram_url(
    client: Client, update: dict[str, Any] | str, *, secret: str | None = TELEGRAM_SECRET
) -> Any:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    body = update if isinstance(update, str) else json.dumps(update)
    return client.post(
        "/chat/telegram/webhook", body, content_type="application/json", headers=headers
    )


def _user(user_id: str) -> dict[str, Any]:
    return {"id": int(user_id), "is_bot": False, "first_name": "Person", "language_code": "en"}


def telegram_press(sent: dict[str, Any], from_id: str, label: str) -> dict[str, Any]:
    """An ``Update`` with a ``callback_query``: ``from_id`` pressed ``label`` on ``sent``.

    ``sent`` is what Ony sent (``sendMessage`` parameters).
    """
    [row] = sent["reply_markup"]["inline_keyboard"]
    button = next(b for b in row if b["text"] == label)
    chat = int(sent["chat_id"])
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": f"4382{next(_update_ids)}",
            "from": _user(from_id),
            "message": {
                "message_id": 100,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "text": sent["text"],
            },
            "chat_instance": "-123456789",
            "data": button["callback_data"],
        },
    }


def telegram_message(
    chat_id: str,
    from_id: str,
    text: str,
    *,
    reply_to: int | None = None,
    chat_type: str = "private",
) -> dict[str, Any]:
    """An ``Update``: a ``message`` from ``from_id`` in ``chat_id`` (replying to ``reply_to``)."""
    message: dict[str, Any] = {
        "message_id": next(_update_ids) % 100000,
        "from": _user(from_id),
        "chat": {"id": int(chat_id), "type": chat_type},
        "date": int(time.time()),
        "text": text,
    }
    if reply_to is not None:
        message["reply_to_message"] = {
            "message_id": reply_to,
            "from": {
                "id": 42,
                "is_bot": True,
                "first_name": "Ony",
                "username": FakeTelegram.USERNAME,
            },
            "chat": {"id": int(chat_id), "type": chat_type},
            "date": int(time.time()),
            "text": "To approve ...",
        }
    return {"update_id": next(_update_ids), "message": message}


# The team and the test case.

ALICE_SLACK, BOB_SLACK, CAROL_SLACK = "UALICE001", "UBOB00002", "UCAROL003"
ALICE_TELEGRAM, BOB_TELEGRAM, CAROL_TELEGRAM = "1000001", "1000002", "1000003"
STRANGER_SLACK, STRANGER_TELEGRAM = "UEVE00009", "6660006"


class ChatTestCase(TransactionTestCase):
    """Acme with Slack and Telegram linked for each on-call person, and a device that asks.

    ``phone = True`` adds the telephony simulator (calls ring too); otherwise
    no provider is set and the chat messages are the only way to reach people.
    Webhooks are posted with a test client (``self.webhooks``), in the test's
    thread; tasks run in-process, or on a real worker with Redis.
    """

    phone = False
    slack: FakeSlack
    telegram: FakeTelegram

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.enterClassContext(running_worker())
        cls.slack = FakeSlack()
        cls.addClassCleanup(cls.slack.close)
        cls.telegram = FakeTelegram()
        cls.addClassCleanup(cls.telegram.close)

    def setUp(self) -> None:
        self.slack.calls.clear()
        self.slack.failures.clear()
        self.slack.garbage.clear()
        self.telegram.garbage.clear()
        self.slack.unreachable.clear()
        self.telegram.calls.clear()
        self.telegram.failures.clear()
        self.telegram.blocked.clear()
        overrides = override_settings(
            **chat_settings(self.slack, self.telegram),
            ONY_PUBLIC_URL=getattr(self, "live_server_url", "http://testserver"),
            ONY_TELEPHONY_SIMULATOR=self.phone,
            SIGNALWIRE_PROJECT="",
            ONY_TELEPHONY_API_URL="",
            ONY_CALL_ROUND_PAUSE=0,
            ONY_CALL_RETRY_DELAYS=[0, 0],
        )
        overrides.enable()
        self.addCleanup(overrides.disable)
        cache.clear()  # replay memory and rates of earlier tests
        simulator.reset()
        self.addCleanup(simulator.reset)
        self.addCleanup(self.stop_everything)

        self.acme = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        self.alice_m = self.person("alice@acme.test", Role.ADMIN, 1, ALICE_SLACK, ALICE_TELEGRAM)
        self.bob_m = self.person("bob@acme.test", Role.MEMBER, 2, BOB_SLACK, BOB_TELEGRAM)
        self.carol_m = self.person("carol@acme.test", Role.VIEWER, 3, CAROL_SLACK, CAROL_TELEGRAM)
        User.objects.filter(pk=self.bob_m.person.pk).update(full_name="Bob Builder")
        self.laptop = enroll_device(self.acme, name="build-laptop")
        self.webhooks = Client()

    def stop_everything(self) -> None:
        """Let the messages in flight arrive and the decided ones close (a worker's tasks would
        otherwise run on into the next test), then withdraw what still waits, quietly."""
        simulator.settle()
        self.settle()
        Handoff.objects.filter(status=Status.PENDING).update(status=Status.CANCELLED)

    def settle(self) -> None:
        """Wait until no message waits to be sent, and every message of a decided handoff shows
        the outcome (or failed)."""

        def quiet() -> bool:
            unsent = ChatMessage.objects.filter(status=MessageStatus.CREATED)
            unclosed = ChatMessage.objects.filter(status=MessageStatus.SENT).exclude(
                handoff__status=Status.PENDING
            )
            return not unsent.exists() and not unclosed.exists()

        until(quiet, WAIT, "the chat tasks to finish")

    def all_sent(self, handoff: Handoff, count: int = 4) -> None:
        """Wait until ``count`` messages about ``handoff`` went out (Alice's and Bob's: 4)."""
        sent = ChatMessage.objects.filter(handoff=handoff, status=MessageStatus.SENT)
        until(lambda: sent.count() >= count, WAIT, f"{count} chat messages sent")

    def person(self, email: str, role: str, order: int, slack: str, telegram: str) -> Membership:
        phone = f"+1415555{order:04d}"
        membership = org_services.add_member(
            self.acme, email, actor=SYSTEM, role=role, phone=phone, oncall_order=order
        )
        org_services.ensure_totp_device(membership.person)
        Membership.objects.filter(pk=membership.pk).update(
            slack_user_id=slack, telegram_chat_id=telegram
        )
        membership.refresh_from_db()
        return membership

    def ask(
        self, action: str = "db.migrate", target: str = "orders-db", title: str = "Migrate"
    ) -> Handoff:
        """The device asks, through the service the agent API calls (which reads it afresh)."""
        device = Device.objects.select_related("org").get(pk=self.laptop.device.pk)
        return make_handoff(device, action, target=target, title=title)

    def handoff(self) -> Handoff:
        return Handoff.objects.get()

    def code_of(self, membership: Membership) -> str:
        return current_code(TOTPDevice.objects.get(user=membership.user))

    def typing_takes_a_while(self, membership: Membership) -> None:
        """Age the last wrong code past the decision throttle's delay, as typing would."""
        TOTPDevice.objects.filter(user=membership.user).update(
            decision_failed_at=timezone.now() - timedelta(minutes=1)
        )

    def wrong_code_of(self, membership: Membership) -> str:
        return str((int(self.code_of(membership)) + 500_000) % 1_000_000).zfill(6)

    def slack_message_to(self, user_id: str) -> dict[str, Any]:
        until(lambda: bool(self.slack.messages_to(user_id)), WAIT, f"a Slack message to {user_id}")
        return self.slack.messages_to(user_id)[-1]

    def telegram_message_to(self, chat_id: str) -> dict[str, Any]:
        def with_buttons() -> list[dict[str, Any]]:
            return [m for m in self.telegram.sent_to(chat_id) if "reply_markup" in m]

        until(lambda: bool(with_buttons()), WAIT, f"a Telegram message to {chat_id}")
        return with_buttons()[-1]

    def chat_events(self, handoff: Handoff) -> list[tuple[str, str, dict[str, Any]]]:
        entries = AuditEntry.objects.for_org(self.acme).filter(subject=handoff.public_id)
        return [
            (e.event, e.actor, e.data)
            for e in entries.order_by("seq")
            if e.event.startswith("chat.")
        ]


@unittest.skipUnless(
    connection.vendor == "postgresql",
    "the live server and the webhooks use the database at once (PostgreSQL)",
)
class ChatLiveTestCase(ChatTestCase, LiveServerTestCase):
    """The whole path: an agent waits through the connector on a live server."""

    def setUp(self) -> None:
        super().setUp()
        self.home = ConnectorHome()
        self.addCleanup(self.home.close)
        self.agent = Ony(self.home.write(self.live_server_url, self.laptop))

    def ask_and_wait(self, action: str = "db.migrate", target: str = "orders-db") -> Asking:
        return Asking(self.agent, action, target, "Migrate")

    def handoff(self) -> Handoff:
        until(lambda: Handoff.objects.exists(), WAIT, "the handoff")
        return Handoff.objects.get()
