"""Whatever arrives, the answer is never a 5xx: property tests over every input path.

Hypothesis feeds arbitrary JSON (deep, wide, any type), strings with lone
surrogates, NULs and control characters, and arbitrary path and query text
to every agent and member endpoint and to the telephony webhooks (signed with
the provider's real key, so the input reaches the code behind the signature).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from django.core.cache import cache
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from ony import api_tokens
from telephony import voice
from telephony.conf import provider
from telephony.models import CallAttempt
from telephony.signatures import sign
from tests.base import OnyTestCase, bearer, enroll_device, make_handoff

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
            ("get", f"/metrics?{query}", {}),
        ]:
            r = getattr(self.client, method)(path, **auth)
            self.assert_no_5xx(r, f"{method.upper()} {path}")
        for path in (
            f"/admin/audit/auditentry/verify/?org={q}",
            f"/admin/ony/membership/?q={q}",
            f"/admin/handoffs/handoff/?q={q}",
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
