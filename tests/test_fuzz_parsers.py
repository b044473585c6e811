"""Property tests of what reads untrusted text: the hook's stdin, shell commands, canonical JSON,
the webhooks' bodies.

Each property holds for any input Hypothesis makes up, within bounds: a fixed
number of examples, derandomized (the same examples every run), no deadline.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import io
import json
import random
import tempfile
import time
import unicodedata
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.http import QueryDict
from django.test import Client, SimpleTestCase, override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from handoffs.serializers import HandoffInput
from handoffs.taxonomy import ACTION_NAME
from ony.canonical import MAX_SAFE_INTEGER, canonical, normalize
from ony.connector import config as connector_settings
from ony.connector import hooks
from ony.connector.actions import CRITICAL, MAX_TARGET, RANK
from ony.connector.classify import Context, classify_shell
from telephony import voice
from telephony.conf import provider
from telephony.models import CallAttempt
from telephony.signatures import sign
from tests.base import OnyTestCase, enroll_device, make_handoff
from tests.chat import SLACK_SECRET, SLACK_TOKEN, TELEGRAM_SECRET, TELEGRAM_TOKEN, slack_signature
from tests.connector import BASH_CALL, ConnectorHome
from tests.vectors import load_vectors

PROPERTY = settings(
    max_examples=150,
    derandomize=True,  # the same examples every run; implies no example database
    deadline=None,  # nothing here is timed
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: For properties that send requests through the whole Django stack.
REQUESTS = settings(PROPERTY, max_examples=60)

#: Any character at all: lone surrogates, NUL and other controls included.
ANY_TEXT = st.text(st.characters(codec=None), max_size=60)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=15,
)


def is_server_text(value: str, limit: int) -> bool:
    """Text the server stores as it is: NFC, no controls or lone surrogates, at most ``limit``."""
    return (
        len(value) <= limit
        and unicodedata.is_normalized("NFC", value)
        and not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value)
    )


# --- The hook's stdin ------------------------------------------------------------------

TOOLS = ["Bash", "shell", "Read", "Write", "Edit", "apply_patch", "Grep", "WebFetch", "WebSearch"]
TOOLS += ["Task", "TodoWrite", "mcp__github__create_issue", "mcp__", "ReadMcpResourceTool"]
FIELDS = ["command", "file_path", "notebook_path", "path", "pattern", "url", "query", "input"]
FIELDS += ["patch", "subagent_type", "description", "server"]
#: A PreToolUse call as the agents send it, with any value anywhere.
PRE_TOOL_USE = st.fixed_dictionaries(
    {"tool_name": st.sampled_from(TOOLS) | ANY_TEXT},
    optional={
        "tool_input": st.dictionaries(st.sampled_from(FIELDS), ANY_TEXT | JSON, max_size=4) | JSON,
        "cwd": st.sampled_from(["/home/dev/project", "/", "", "relative"]) | ANY_TEXT | JSON,
        "session_id": ANY_TEXT | JSON,
        "hook_event_name": st.just("PreToolUse"),
    },
)
#: What may arrive on the hook's stdin: anything, JSON of any shape, or a tool call.
STDIN = (
    st.binary(max_size=300)
    | JSON.map(lambda value: json.dumps(value).encode())
    | PRE_TOOL_USE.map(lambda call: json.dumps(call).encode())
    | PRE_TOOL_USE.map(lambda call: json.dumps(call, ensure_ascii=False).encode("utf-8", "replace"))
    | st.integers(min_value=1, max_value=100_000).map(lambda n: b"[" * n + b"]" * n)
    | st.integers(min_value=1, max_value=5_000).map(
        lambda n: b'{"tool_name": "Bash", "tool_input": ' + b"[" * n + b"]" * n + b"}"
    )
)


class HookInputTests(SimpleTestCase):
    def setUp(self) -> None:
        self.home = tempfile.TemporaryDirectory()
        self.addCleanup(self.home.cleanup)

    def config(self, attach_payload: bool) -> connector_settings.Config:
        return connector_settings.Config(
            directory=self.home.name,
            server="http://127.0.0.1:9",
            device_id="dev_000000000000",
            device_token="ony_dev_made_up",
            decision_key="A" * 43,
            attach_payload=attach_payload,
        )

    @PROPERTY
    @given(agent=st.sampled_from(sorted(hooks.AGENTS)), raw=STDIN, attach_payload=st.booleans())
    # What it found (each once answered by the server with a 400, or raised past BadInput);
    # the last is the known gap below.
    @example("codex", b"[" * 100_000, False)  # RecursionError
    @example("claude-code", b'{"tool_name": "7zip"}', False)  # tool.7zip: not an action name
    @example("claude-code", json.dumps({"tool_name": "T" * 300}).encode(), False)  # too long
    @example("claude-code", b'{"tool_name": "Bash", "session_id": " "}', False)  # blank session
    @example("codex", b'{"tool_name": "mcp__"}', False)  # blank target
    @example("claude-code", b'{"tool_name": "Read", "tool_input": {"file_path": "\\ud800"}}', True)
    @example("codex", b'{"tool_name": "WebFetch", "tool_input": {"url": "tel:4155550101"}}', False)
    def test_it_reads_any_stdin_as_a_request_the_server_takes_or_refuses_it(
        self, agent: str, raw: bytes, attach_payload: bool
    ) -> None:
        try:
            request = hooks.tool_request(agent, raw, self.config(attach_payload))
        except hooks.BadInput:
            return  # the hook answers its fail mode (see the run test below)
        self.assertRegex(request.action, ACTION_NAME)
        self.assertTrue(is_server_text(request.target, MAX_TARGET), request.target)
        # The server's own input check (HandoffInput), as POST /api/v1/handoffs applies it.
        checked = HandoffInput(data=request.body("fuzz-nonce-0001"))
        errors = checked.errors if not checked.is_valid() else {}
        # Known gap: the connector drops only a "+" before a run of digits, while the
        # server's patterns are wider (tel: links, "(415) 555-0100"...); such a target
        # is refused (phone_number), and the hook answers its fail mode.
        if errors.get("target") and {e.code for e in errors["target"]} == {"phone_number"}:
            errors = {k: v for k, v in errors.items() if k != "target"}
        self.assertEqual(errors, {}, request)


class HookRunTests(SimpleTestCase):
    """``hooks.run`` with a server that refuses connections: it fails closed, at once."""

    def setUp(self) -> None:
        self.home = ConnectorHome()
        self.addCleanup(self.home.close)

    @settings(PROPERTY, max_examples=80)
    @given(
        agent=st.sampled_from(sorted(hooks.AGENTS)),
        fail_mode=st.sampled_from(connector_settings.FAIL_MODES),
        raw=STDIN | st.just(json.dumps(BASH_CALL).encode()),
    )
    def test_it_prints_one_answer_line_or_nothing(
        self, agent: str, fail_mode: str, raw: bytes
    ) -> None:
        self.home.write("http://127.0.0.1:9", fail_mode=fail_mode)  # nothing listens there
        out, err = io.StringIO(), io.StringIO()
        status = hooks.run(agent, io.BytesIO(raw), out, str(self.home.directory), err)
        self.assertEqual(status, 0)
        printed = out.getvalue()
        if agent == "codex" and fail_mode == "ask":
            self.assertEqual(printed, "")  # Codex has no "ask": its own approval decides
            return
        self.assertTrue(printed.endswith("\n"), printed)
        lines = printed.splitlines()
        self.assertEqual(len(lines), 1, printed)
        answer = json.loads(lines[0])["hookSpecificOutput"]
        self.assertEqual(answer["hookEventName"], "PreToolUse")
        self.assertEqual(answer["permissionDecision"], fail_mode)  # never "allow"
        self.assertTrue(answer["permissionDecisionReason"].startswith("ony: "), answer)


# --- Shell commands ----------------------------------------------------------------------

CONTEXT = Context(
    cwd="/home/dev/project",
    home="/home/dev",
    config_dir="/home/dev/.config/ony",
    scratch_dirs=("/tmp",),
)
SHELL_TEXT = st.text(
    st.sampled_from(list("abcrm -$`'\"\\|&;()<>#{}=*~./\n\t")) | st.characters(codec=None),
    max_size=80,
)
NAMES = ["rm", "git", "curl", "sudo", "python", "bash", "sh", "kubectl", "terraform", "echo", "ls"]
NAMES += ["npm", "pip", "psql", "aws", "docker", "env", "xargs", "find", "sed", "make", "eval"]
#: A word a shell reads as it is: no quotes, operators, expansions or comments.
WORD = st.sampled_from(["-rf", "-c", "push", "--force", "main", "prod", "x.txt", "/etc", "-m"])
WORD |= st.text(st.sampled_from("abcdefxyz0123456789-_./="), min_size=1, max_size=8)
SIMPLE_COMMAND = st.builds(
    lambda name, args: " ".join([name, *args]),
    st.sampled_from(NAMES) | WORD,
    st.lists(WORD, max_size=4),
)
#: Commands that rank at least this high whatever comes after them.
DANGEROUS = {"sudo": CRITICAL, "doas": CRITICAL, "eval": CRITICAL}
DANGEROUS["rm -rf"] = RANK["file.delete_recursive"]


def rank(command: str) -> int:
    return RANK[classify_shell(command, CONTEXT).action]


class ShellClassifierTests(SimpleTestCase):
    @PROPERTY
    @given(command=SHELL_TEXT | ANY_TEXT)
    def test_it_classifies_any_text_as_a_known_action_with_a_clean_target(
        self, command: str
    ) -> None:
        found = classify_shell(command, CONTEXT)
        self.assertIn(found.action, RANK)  # shell.exec for what nothing recognises
        self.assertTrue(is_server_text(found.target, MAX_TARGET), found.target)

    @PROPERTY
    @given(danger=st.sampled_from(sorted(DANGEROUS)), rest=SHELL_TEXT | ANY_TEXT)
    def test_nothing_after_a_dangerous_command_lowers_its_risk(
        self, danger: str, rest: str
    ) -> None:
        # Whatever follows (arguments, operators, quotes a shell cannot read), the line
        # runs the dangerous command first, or cannot be read at all (shell.obfuscated).
        self.assertGreaterEqual(rank(f"{danger} {rest}"), DANGEROUS[danger])

    @PROPERTY
    @given(
        commands=st.lists(SIMPLE_COMMAND, min_size=1, max_size=4),
        operators=st.lists(st.sampled_from([" && ", " || ", "; ", "\n", " & "]), min_size=3),
    )
    def test_a_compound_command_is_as_risky_as_its_riskiest_part(
        self, commands: list[str], operators: list[str]
    ) -> None:
        line = commands[0]
        for operator, command in zip(operators, commands[1:], strict=False):
            line += operator + command
        self.assertEqual(rank(line), max(rank(command) for command in commands), line)


# --- Canonical JSON ----------------------------------------------------------------------

ASCII_KEYS = st.text(st.characters(max_codepoint=127, exclude_characters="\x00"), max_size=8)
PROFILE_TEXT = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20
) | st.sampled_from(["e\u0301", "\u212b", "\u1e9b\u0323", "日本", "\U0001f600"])
PROFILE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | PROFILE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ASCII_KEYS, inner, max_size=4),
    max_leaves=20,
)
#: Python values of every kind, on the profile or not.
ANYTHING = st.recursive(
    JSON
    | st.binary(max_size=4)
    | st.decimals(allow_nan=False)
    | st.integers()
    | st.floats(allow_nan=True),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(ANY_TEXT | st.integers(), inner, max_size=3)
    ),
    max_leaves=10,
)


def nfc(value: Any) -> Any:
    """``value`` with every string in NFC (tuples as lists), as JSON sees it."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list | tuple):
        return [nfc(item) for item in value]
    if isinstance(value, dict):
        return {key: nfc(item) for key, item in value.items()}
    return value


def shuffled(value: Any, rng: random.Random) -> Any:
    """``value`` with the keys of every object in another order."""
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: shuffled(item, rng) for key, item in items}
    return value


def vectors_rule(value: Any) -> bytes:
    """Canonical JSON as tests/vectors/verdicts.json states it."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


class CanonicalJsonTests(SimpleTestCase):
    @PROPERTY
    @given(value=PROFILE, seed=st.integers(0, 2**32 - 1))
    def test_it_is_the_vectors_rule_whatever_the_key_order(self, value: Any, seed: int) -> None:
        encoded = canonical(value)
        self.assertEqual(encoded, vectors_rule(nfc(value)))
        self.assertEqual(canonical(shuffled(value, random.Random(seed))), encoded)
        self.assertEqual(canonical(copy.deepcopy(value)), encoded)
        self.assertEqual(json.loads(encoded), nfc(value))
        self.assertEqual(canonical(json.loads(encoded)), encoded)

    @PROPERTY
    @given(value=ANYTHING)
    def test_it_encodes_a_value_on_the_profile_or_refuses_it_with_value_error(
        self, value: Any
    ) -> None:
        try:
            encoded = canonical(value)
        except ValueError:
            return
        self.assertEqual(encoded, vectors_rule(normalize(value)))
        self.assertEqual(canonical(json.loads(encoded)), encoded)

    @settings(PROPERTY, max_examples=30)
    @given(seed=st.integers(0, 2**32 - 1))
    def test_the_vectors_sign_and_chain_whatever_the_key_order(self, seed: int) -> None:
        rng = random.Random(seed)
        vectors = load_vectors("verdicts.json")
        key = bytes.fromhex(vectors["decision_key_hex"])
        for case in vectors["cases"]:
            verdict = shuffled(case["verdict"], rng)
            signature = verdict.pop("signature")
            mac = hmac.new(key, b"ony-verdict-v1\n" + canonical(verdict), hashlib.sha256)
            self.assertEqual(
                signature == "hmac-sha256:" + mac.hexdigest(), case["valid_signature"], case
            )
        for entry in load_vectors("audit_chain.json")["entries"]:
            parsed = shuffled(json.loads(entry["canonical"]), rng)
            self.assertEqual(canonical(parsed), entry["canonical"].encode())


# --- Webhooks ------------------------------------------------------------------------------

FORM_TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
TELEPHONY_FIELDS = st.sampled_from(
    ["Digits", "CallStatus", "AnsweredBy", "CallSid", "SpeechResult"]
)
#: Form fields, names repeated or not, as a provider could post them.
FORM_PAIRS = st.lists(st.tuples(TELEPHONY_FIELDS | FORM_TEXT, FORM_TEXT), max_size=6)
#: Signatures that are not the right one: none, made up, or right for something else.
WRONG_SIGNATURE = st.none() | st.text(max_size=40) | st.just("v0=" + "0" * 64)
CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens: a call to the chat services fails at once
CHAT_SETTINGS = {
    "SLACK_BOT_TOKEN": SLACK_TOKEN,
    "SLACK_SIGNING_SECRET": SLACK_SECRET,
    "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
    "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
    "SLACK_API_URL": CLOSED_PORT,
    "TELEGRAM_API_URL": CLOSED_PORT,
}


@override_settings(
    ONY_TELEPHONY_SIMULATOR=True,
    SIGNALWIRE_PROJECT="",
    ONY_PUBLIC_URL="http://testserver",
    **CHAT_SETTINGS,
)
class WebhookTests(TestCase, OnyTestCase):
    """The telephony, Slack and Telegram webhooks: signed or not, any body, never a 5xx.

    Each example runs in a transaction of its own (Hypothesis' Django TestCase).
    """

    def setUp(self) -> None:
        cache.clear()  # Slack's replay memory
        self.addCleanup(cache.clear)
        self.client = Client(raise_request_exception=False)
        handoff = make_handoff(enroll_device(self.acme).device, "db.migrate")
        self.attempt = CallAttempt.objects.create(
            org=self.acme, handoff=handoff, member=self.alice_m
        )
        current = provider()
        assert current is not None  # the simulator
        self.key = current.signing_key

    def assert_refused(self, response: Any) -> None:
        """A 4xx with a JSON body that has a ``code``."""
        self.assertGreaterEqual(response.status_code, 400, response.content[:300])
        self.assertLess(response.status_code, 500, response.content[:300])
        self.assertEqual(response["Content-Type"], "application/json", response.content[:300])
        self.assertIsInstance(response.json()["code"], str)

    def assert_no_server_error(self, response: Any) -> None:
        self.assertLess(response.status_code, 500, response.content[:300])
        if response.status_code >= 400:
            self.assert_refused(response)

    def post_form(self, url: str, body: bytes, **headers: Any) -> Any:
        return self.client.post(
            url.removeprefix("http://testserver"),
            body,
            content_type="application/x-www-form-urlencoded",
            **headers,
        )

    def call_url(self, name: str) -> str:
        return voice.webhook_url(name, self.attempt, step=name in ("keys", "silence"))

    @REQUESTS
    @given(
        name=st.sampled_from(["answer", "keys", "silence", "status"]),
        pairs=FORM_PAIRS,
        raw=st.none() | st.binary(max_size=100),
        signature=WRONG_SIGNATURE | st.just("signed for another address"),
    )
    def test_telephony_refuses_what_the_provider_did_not_sign(
        self, name: str, pairs: list[tuple[str, str]], raw: bytes | None, signature: str | None
    ) -> None:
        body = raw if raw is not None else urlencode(pairs).encode()
        if signature == "signed for another address":  # right key and fields, wrong webhook
            other = self.call_url("answer" if name != "answer" else "status")
            signature = sign(self.key, other, QueryDict(body, encoding="utf-8"))
        headers = {} if signature is None else {"HTTP_X_SIGNALWIRE_SIGNATURE": signature}
        before = CallAttempt.objects.values().get(pk=self.attempt.pk)
        response = self.post_form(self.call_url(name), body, **headers)
        self.assert_refused(response)
        self.assertEqual(CallAttempt.objects.values().get(pk=self.attempt.pk), before)

    @REQUESTS
    @given(
        name=st.sampled_from(["answer", "keys", "silence", "status"]),
        pairs=FORM_PAIRS,
        raw=st.none() | st.binary(max_size=100),
    )
    def test_telephony_never_fails_on_a_signed_form(
        self, name: str, pairs: list[tuple[str, str]], raw: bytes | None
    ) -> None:
        body = raw if raw is not None else urlencode(pairs).encode()
        url = self.call_url(name)
        # Signed as the provider signs: over the fields as the server parses them.
        signature = sign(self.key, url, QueryDict(body, encoding="utf-8"))
        response = self.post_form(url, body, HTTP_X_SIGNALWIRE_SIGNATURE=signature)
        self.assert_no_server_error(response)
        if response.status_code >= 400:
            self.assertNotEqual(response.json()["code"], "invalid_signature")

    def post_to_slack(self, body: bytes, timestamp: str, signature: str | None) -> Any:
        headers = {"HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp}
        if signature is not None:
            headers["HTTP_X_SLACK_SIGNATURE"] = signature
        return self.post_form("/chat/slack/interactions", body, **headers)

    @REQUESTS
    @given(
        body=st.binary(max_size=200)
        | FORM_PAIRS.map(lambda pairs: urlencode(pairs).encode())
        | JSON.map(lambda value: urlencode({"payload": json.dumps(value)}).encode()),
        signed=st.booleans(),
        stale=st.booleans(),
    )
    def test_slack_never_fails_and_refuses_what_it_did_not_sign(
        self, body: bytes, signed: bool, stale: bool
    ) -> None:
        timestamp = str(int(time.time()) - (3600 if stale else 0))
        text = body.decode("utf-8", "replace")
        signature = slack_signature(SLACK_SECRET, timestamp, text)
        if not signed:  # signed with another secret
            signature = slack_signature(SLACK_SECRET + "x", timestamp, text)
        response = self.post_to_slack(body, timestamp, signature)
        if signed and not stale and text.encode() == body:
            self.assert_no_server_error(response)
            if response.status_code >= 400:
                self.assertNotEqual(response.json()["code"], "invalid_signature")
        else:
            self.assert_refused(response)

    @REQUESTS
    @given(
        body=st.binary(max_size=200),
        timestamp=st.text(max_size=20),
        signature=WRONG_SIGNATURE,
    )
    def test_slack_refuses_made_up_signatures(
        self, body: bytes, timestamp: str, signature: str | None
    ) -> None:
        self.assert_refused(self.post_to_slack(body, timestamp, signature))

    @REQUESTS
    @given(
        body=st.binary(max_size=200) | JSON.map(lambda value: json.dumps(value).encode()),
        secret=st.just(TELEGRAM_SECRET) | st.none() | st.text(max_size=40),
    )
    def test_telegram_never_fails_and_refuses_a_wrong_secret(
        self, body: bytes, secret: str | None
    ) -> None:
        headers: dict[str, Any] = {}
        if secret is not None:
            headers["HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"] = secret
        response = self.client.post(
            "/chat/telegram/webhook", body, content_type="application/json", **headers
        )
        if secret == TELEGRAM_SECRET:
            self.assert_no_server_error(response)
        else:
            self.assert_refused(response)
            self.assertEqual(response.json()["code"], "invalid_secret")
