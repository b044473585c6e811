"""Whatever arrives, the answer is never a 5xx: property tests over every input path.

Hypothesis feeds arbitrary JSON (deep, wide, any type), strings with lone
surrogates, NULs and control characters, and arbitrary path and query text
to every agent and member endpoint and to the telephony webhooks (signed with
the provider's real key, so the input reaches the code behind the signature).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote, urlencode

from django.core.cache import cache
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from chat.models import ChatMessage
from ony import api_tokens
from ony.models import Membership
from telephony import voice
from telephony.conf import provider
from telephony.models import CallAttempt
from telephony.signatures import sign
from tests.base import OnyTestCase, bearer, enroll_device, make_handoff
from tests.chat import SLACK_SECRET, SLACK_TOKEN, TELEGRAM_SECRET, TELEGRAM_TOKEN, slack_signature

#: Any character at all, lone surrogates, NUL and other controls included.
ANY_CHAR = st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF)
#: What a provider can post: any Unicode text (form data is UTF-8, which has no
#: lone surrogates), NUL and controls included.
FORM_TEXT = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(["", "\x00", "²"])
TEXT = st.text(ANY_CHAR, max_size=40) | st.sampled_from(["", "\x00", "\ud800", "²", "٣", "a" * 300])
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
CREATE_FIELDS = ["action", "target", "title", "summary", "options", "payload"]
CREATE_FIELDS += ["risk_hint", "agent_session_id", "nonce"]
BODY = (
    st.dictionaries(st.sampled_from(CREATE_FIELDS) | TEXT, JSON, max_size=10)
    | JSON
    | st.binary(max_size=200)
    | st.just("[" * 5000 + "]" * 5000)
)
PROPERTY = settings(
    max_examples=40,
    deadline=None,  # no test is timed
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def encoded(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):  # sent as it is: lone surrogates make invalid UTF-8
        return body.encode("utf-8", "surrogatepass")
    return json.dumps(body).encode()  # lone surrogates travel as \\ud800 escapes


def as_path(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


class NoServerErrorTests(TestCase, OnyTestCase):
    def setUp(self) -> None:
        cache.clear()  # the enrollment rate limit, which these examples run into
        self.addCleanup(cache.clear)
        self.client = Client(raise_request_exception=False)
        self.laptop = enroll_device(self.acme)
        self.device: dict[str, Any] = bearer(self.laptop.device_token)
        self.member: dict[str, Any] = {
            "HTTP_AUTHORIZATION": f"Token {api_tokens.create(self.bob, 'fuzz')[1]}"
        }
        self.admin: dict[str, Any] = {
            "HTTP_AUTHORIZATION": f"Token {api_tokens.create(self.alice, 'fuzz')[1]}"
        }
        self.handoff = make_handoff(self.laptop.device)

    def assert_no_5xx(self, response: Any, what: str) -> None:
        self.assertLess(response.status_code, 500, f"{what}: {response.content[:300]!r}")
        if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
            self.assertIn("code", response.json())

    @PROPERTY
    @given(body=BODY)
    def test_creating_a_handoff(self, body: Any) -> None:
        for content_type in ("application/json", "text/plain"):
            r = self.client.post(
                "/api/v1/handoffs", encoded(body), content_type=content_type, **self.device
            )
            self.assert_no_5xx(r, "POST /api/v1/handoffs")

    @PROPERTY
    @given(body=BODY)
    def test_enrolling_and_deciding(self, body: Any) -> None:
        r = self.client.post("/api/v1/enroll", encoded(body), content_type="application/json")
        self.assert_no_5xx(r, "POST /api/v1/enroll")
        url = f"/api/v1/handoffs/{self.handoff.public_id}/decision"
        r = self.client.post(url, encoded(body), content_type="application/json", **self.member)
        self.assert_no_5xx(r, "POST decision")

    @PROPERTY
    @given(segment=TEXT, value=TEXT)
    def test_paths_and_queries(self, segment: str, value: str) -> None:
        request_id, query = (
            as_path(segment),
            urlencode({"x": value}, encoding="utf-8", errors="surrogatepass"),
        )
        q = query.removeprefix("x=")
        for method, path, auth in [
            ("get", f"/api/v1/handoffs/{request_id}", self.device),
            ("get", f"/api/v1/handoffs/{request_id}", self.member),
            ("get", f"/api/v1/handoffs/{self.handoff.public_id}/verdict?wait={q}", self.device),
            ("post", f"/api/v1/handoffs/{request_id}/cancel", self.device),
            ("get", f"/api/v1/taxonomy?org={q}", self.member),
            ("get", f"/api/v1/handoffs?status={q}&org={q}", self.member),
            ("get", f"/api/v1/orgs/{request_id}/members", self.member),
            ("get", f"/api/v1/export?org={q}&payloads={q}", self.admin),
            ("get", f"/metrics?{query}", {}),
        ]:
            r = getattr(self.client, method)(path, **auth)
            self.assert_no_5xx(r, f"{method.upper()} {path}")
        for path in (
            f"/admin/audit/auditentry/verify/?org={q}",
            f"/admin/ony/membership/?q={q}",
            f"/admin/handoffs/handoff/?q={q}",
            f"/admin/ony/organization/{request_id}/export/",
        ):
            self.assert_no_5xx(self.client_for(self.alice).get(path), path)


@override_settings(
    ONY_TELEPHONY_SIMULATOR=True, SIGNALWIRE_PROJECT="", ONY_PUBLIC_URL="http://testserver"
)
class NoServerErrorWebhookTests(TestCase, OnyTestCase):
    def setUp(self) -> None:
        self.client = Client(raise_request_exception=False)
        self.alice_m.oncall_order = 1
        self.alice_m.save()
        handoff = make_handoff(enroll_device(self.acme).device, "db.migrate")
        current = provider()
        assert current is not None  # the simulator
        # The attempt the escalation saves before it rings Alice (never rung here).
        self.attempt = CallAttempt.objects.create(
            org=self.acme, handoff=handoff, member=self.alice_m
        )
        self.key = current.signing_key

    def post_signed(self, name: str, params: dict[str, str]) -> Any:
        self.attempt.refresh_from_db()
        url = voice.webhook_url(name, self.attempt, step=name in ("keys", "silence"))
        body = urlencode(params, encoding="utf-8", errors="surrogatepass")
        return self.client.post(
            url.removeprefix("http://testserver"),
            body,
            content_type="application/x-www-form-urlencoded",
            HTTP_X_SIGNALWIRE_SIGNATURE=sign(self.key, url, params),
        )

    @PROPERTY
    @given(
        params=st.dictionaries(
            st.sampled_from(["Digits", "CallStatus", "AnsweredBy", "CallSid"]) | FORM_TEXT,
            FORM_TEXT,
            max_size=5,
        )
    )
    def test_signed_webhooks(self, params: dict[str, str]) -> None:
        for name in ("answer", "keys", "silence", "status"):
            r = self.post_signed(name, params)
            self.assertLess(r.status_code, 500, f"{name}: {r.content[:300]!r}")
            if name == "answer":  # the signature held: the input reached the keypad's code
                self.assertIn(r.status_code, (200, 400), r.content[:300])

    @PROPERTY
    @given(code=TEXT)
    def test_unknown_and_odd_call_codes(self, code: str) -> None:
        r = self.client.post(
            f"/telephony/calls/{as_path(code)}/answer",
            "CallStatus=in-progress",
            content_type="application/x-www-form-urlencoded",
        )
        self.assertLess(r.status_code, 500, r.content[:300])


CHAT_PROPERTY = settings(PROPERTY, max_examples=100)


def _paths(value: Any, prefix: tuple = ()) -> Any:
    """Every path to a value inside nested dicts and lists."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        yield (*prefix, key)
        if isinstance(child, dict | list) and child:
            yield from _paths(child, (*prefix, key))


CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens: a chat service call fails at once
CHAT_SECRETS = {
    "SLACK_BOT_TOKEN": SLACK_TOKEN,
    "SLACK_SIGNING_SECRET": SLACK_SECRET,
    "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
    "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
}


@override_settings(**CHAT_SECRETS, SLACK_API_URL=CLOSED_PORT, TELEGRAM_API_URL=CLOSED_PORT)
class NoServerErrorChatTests(TestCase, OnyTestCase):
    """Slack's signed interactions and Telegram's updates, shaped like the real ones or not."""

    def setUp(self) -> None:
        cache.clear()
        self.addCleanup(cache.clear)
        self.client = Client(raise_request_exception=False)
        handoff = make_handoff(enroll_device(self.acme).device)  # critical: codes in play
        self.codes = {}
        for service, recipient in (("slack", "UBOB00002"), ("telegram", "1000002")):
            message = ChatMessage.objects.create(
                org=self.acme,
                handoff=handoff,
                member=self.bob_m,
                service=service,
                recipient=recipient,
                channel=recipient,
                message_ref="100",
                prompt_ref="77",
                status="sent",
            )
            self.codes[service] = message.code
        Membership.objects.filter(pk=self.bob_m.pk).update(
            slack_user_id="UBOB00002", telegram_chat_id="1000002"
        )

    def slack_payloads(self) -> list[dict[str, Any]]:
        """Well-formed interactions about Bob's message: both buttons and the code dialog."""
        code = self.codes["slack"]
        user = {"id": "UBOB00002", "username": "bob", "team_id": "T0001"}
        clicks = [
            {
                "type": "block_actions",
                "user": user,
                "trigger_id": "1337.42.abc",
                "actions": [{"action_id": action, "value": code, "type": "button"}],
            }
            for action in ("ony_approve", "ony_deny")
        ]
        values = {
            "ony_code_block": {"ony_code_input": {"type": "plain_text_input", "value": "123456"}}
        }
        view = {"callback_id": "ony_code", "private_metadata": code, "state": {"values": values}}
        return [*clicks, {"type": "view_submission", "user": user, "view": view}]

    def telegram_updates(self) -> list[dict[str, Any]]:
        """Well-formed updates for Bob's message: both buttons, a code reply, a link command."""
        code = self.codes["telegram"]
        bob = {"id": 1000002, "is_bot": False, "first_name": "Bob"}
        chat = {"id": 1000002, "type": "private"}
        presses = [
            {"update_id": 1, "callback_query": {"id": "4382", "from": bob, "data": f"{k}:{code}"}}
            for k in "ad"
        ]
        reply = {"message_id": 5, "from": bob, "chat": chat, "text": "123456"}
        reply["reply_to_message"] = {"message_id": 77}
        start = {"message_id": 6, "from": bob, "chat": chat, "text": "/start tg" + "a" * 32}
        return [*presses, {"update_id": 2, "message": reply}, {"update_id": 3, "message": start}]

    def mutated(self, data: st.DataObject, bases: list[dict[str, Any]]) -> Any:
        """One of ``bases`` with one value somewhere in it replaced by anything at all."""
        payload = json.loads(json.dumps(data.draw(st.sampled_from(bases))))
        paths = list(_paths(payload))
        if data.draw(st.booleans()):
            *parents, last = data.draw(st.sampled_from(paths))
            holder = payload
            for key in parents:
                holder = holder[key]
            holder[last] = data.draw(JSON)
        return payload

    @CHAT_PROPERTY
    @given(data=st.data())
    def test_slack_interactions(self, data: st.DataObject) -> None:
        payload = data.draw(JSON) if data.draw(st.booleans()) else None
        if payload is None:
            payload = self.mutated(data, self.slack_payloads())
        text = json.dumps(payload)
        body = urlencode({"payload": text}, encoding="utf-8", errors="surrogatepass")
        stamp = str(int(time.time()))
        r = self.client.post(
            "/chat/slack/interactions",
            body,
            content_type="application/x-www-form-urlencoded",
            HTTP_X_SLACK_REQUEST_TIMESTAMP=stamp,
            HTTP_X_SLACK_SIGNATURE=slack_signature(
                CHAT_SECRETS["SLACK_SIGNING_SECRET"], stamp, body
            ),
        )
        self.assert_signed_and_no_5xx(r)

    @CHAT_PROPERTY
    @given(data=st.data())
    def test_telegram_updates(self, data: st.DataObject) -> None:
        update = data.draw(JSON) if data.draw(st.booleans()) else None
        if update is None:
            update = self.mutated(data, self.telegram_updates())
        r = self.client.post(
            "/chat/telegram/webhook",
            encoded(update),
            content_type="application/json",
            headers={"X-Telegram-Bot-Api-Secret-Token": CHAT_SECRETS["TELEGRAM_WEBHOOK_SECRET"]},
        )
        self.assert_signed_and_no_5xx(r)

    def assert_signed_and_no_5xx(self, r: Any) -> None:
        json_body = r["Content-Type"].startswith("application/json")
        body = r.json() if json_body else {"code": None}  # Slack's buttons: an empty 200
        self.assertNotIn(body.get("code"), ("invalid_signature", "invalid_secret"))  # past the door
        if r.status_code == 502:  # Slack itself did not answer (nothing listens here)
            self.assertEqual(body["code"], "chat_unavailable")
        else:
            self.assertLess(r.status_code, 500, r.content[:300])
