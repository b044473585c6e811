"""The fail-closed matrix: hostile or broken answers never turn into ``allow``.

A fake server speaks the agent API's wire format and answers the real hook
with what no honest Ony server sends: errors, garbage, silence, forged,
misbound, replayed and expired verdicts. Each case must print the configured
fail mode (``ask`` or ``deny``) with a reason naming what was wrong.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import SimpleTestCase

from ony.connector import handoff as connector_handoff
from ony.connector.config import load
from ony.connector.verdict import format_verdict_time, sign
from tests.connector import ConnectorHome, FakeServer, decision_of

DEVICE_KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
DEVICE_ID = "dev_0123456789ab"
REQUEST_ID = "req_0123456789ab"


def handoff(body: dict[str, Any], verdict: dict[str, Any] | None, **changes: Any) -> dict:
    return {
        "request_id": REQUEST_ID,
        "status": "approved" if verdict else "pending",
        "risk": "medium",
        "action": body["action"],
        "target": body["target"],
        "expires_at": format_verdict_time(datetime.now(UTC) + timedelta(minutes=5)),
        "verdict": verdict,
        **changes,
    }


def verdict_for(body: dict[str, Any], key: bytes = DEVICE_KEY, **changes: Any) -> dict:
    """A verdict for the request in ``body``, signed with ``key``, with ``changes`` applied.

    ``signature`` in ``changes`` replaces the signature (``None`` removes it).
    """
    now = datetime.now(UTC)
    signature = changes.pop("signature", "keep")
    unsigned = {
        "v": 1,
        "request_id": REQUEST_ID,
        "device_id": DEVICE_ID,
        "agent_session_id": body["agent_session_id"],
        "action": body["action"],
        "target": body["target"],
        "risk": "medium",
        "decision": "approve",
        "decided_via": "dashboard",
        "nonce": body["nonce"],
        "issued_at": format_verdict_time(now),
        "expires_at": format_verdict_time(now + timedelta(minutes=2)),
        "audit_seq": 7,
        "audit_hash": "ab" * 32,
        **changes,
    }
    signed = sign(key, unsigned)
    if signature is None:
        del signed["signature"]
    elif signature != "keep":
        signed["signature"] = signature
    return signed


def approving(key: bytes = DEVICE_KEY, handoff_changes=None, **changes: Any):
    """A server that answers the create call with a verdict built from the connector's request.

    A callable change is called when the server answers (times relative to then).
    """

    def respond(method: str, path: str, body: dict | None):
        if method == "POST" and path == "/api/v1/handoffs":
            assert body is not None  # a create always sends one
            now = {name: value() if callable(value) else value for name, value in changes.items()}
            verdict = verdict_for(body, key, **now)
            return 201, handoff(body, verdict, **(handoff_changes or {}))
        return 404, {"code": "not_found", "detail": "Not found."}

    return respond


def fixed(status: int, payload: Any):
    return lambda method, path, body: (status, payload)


def stale_verdict(method: str, path: str, body: dict | None):
    """A verdict this device really received earlier, for another request, replayed."""
    assert body is not None  # only the create is answered
    earlier = {**body, "nonce": "an-earlier-nonce-0001"}
    return 201, handoff(body, verdict_for(earlier, request_id="req_earlier00001"))


CASES: dict[str, tuple[Any, str]] = {
    "HTTP 500 with a JSON error": (
        fixed(500, {"code": "server_error", "detail": "x"}),
        "server_error",
    ),
    "HTTP 500 with HTML": (fixed(500, b"<h1>Server Error</h1>"), "bad_response"),
    "invalid JSON": (fixed(201, b"{not json"), "bad_response"),
    "a JSON list": (fixed(201, b"[]"), "bad_response"),
    "a forged signature": (approving(signature="hmac-sha256:" + "0" * 64), "bad_signature"),
    "another device's key": (approving(key=OTHER_KEY), "bad_signature"),
    "no signature": (approving(signature=None), "malformed"),
    "a verdict for another request": (approving(request_id="req_another00001"), "mismatch"),
    "a verdict for another action": (approving(action="file.read"), "mismatch"),
    "a verdict with another risk": (approving(risk="low"), "mismatch"),
    "a replayed old verdict": (stale_verdict, "mismatch"),
    "an expired verdict": (
        approving(
            issued_at=lambda: format_verdict_time(datetime.now(UTC) - timedelta(minutes=10)),
            expires_at=lambda: format_verdict_time(datetime.now(UTC) - timedelta(minutes=8)),
        ),
        "expired",
    ),
    "a verdict issued in the future": (
        approving(issued_at=lambda: format_verdict_time(datetime.now(UTC) + timedelta(minutes=5))),
        "not_yet_valid",
    ),
    "a handoff recording another target": (
        approving(handoff_changes={"target": "elsewhere"}),
        "mismatch",
    ),
}


class HostileServerTests(SimpleTestCase):
    def setUp(self):
        self.home = ConnectorHome()
        self.addCleanup(self.home.close)

    def configure(self, server: FakeServer, **overrides: Any) -> None:
        key = base64.urlsafe_b64encode(DEVICE_KEY).decode().rstrip("=")
        self.home.write(server.url, device_id=DEVICE_ID, decision_key=key, **overrides)

    def test_no_hostile_answer_is_allowed(self):
        for name, (respond, reason) in CASES.items():
            for mode in ("ask", "deny"):
                with self.subTest(name, mode=mode), FakeServer(respond) as server:
                    self.configure(server, fail_mode=mode)
                    decision, why = decision_of(self.home.hook())
                    self.assertEqual(decision, mode)
                    self.assertIn(reason, why)
                    self.assertIn(f"fail mode {mode}", why)

    def test_the_honest_verdict_of_the_same_server_is_allowed(self):
        """The control: the matrix fails for the reasons given, not because the fake is wrong."""
        with FakeServer(approving()) as server:
            self.configure(server)
            decision, reason = decision_of(self.home.hook())
        self.assertEqual(decision, "allow")
        self.assertIn(REQUEST_ID, reason)

    def test_a_signed_deny_and_ask_are_honoured_as_they_are(self):
        for decision in ("deny", "ask"):
            with self.subTest(decision), FakeServer(approving(decision=decision)) as server:
                self.configure(server, fail_mode="deny" if decision == "ask" else "ask")
                self.assertEqual(decision_of(self.home.hook())[0], decision)

    def test_a_server_slower_than_the_deadline_gets_the_fail_mode_in_time(self):
        def slow(method: str, path: str, body: dict | None):
            time.sleep(12)
            return approving()(method, path, body)

        with FakeServer(slow) as server:
            self.configure(server, fail_mode="deny", deadline_seconds=5)
            began = time.monotonic()
            decision, reason = decision_of(self.home.hook())
            elapsed = time.monotonic() - began
        self.assertEqual(decision, "deny")
        self.assertIn("timeout", reason)
        self.assertLess(elapsed, 5 + 3)

    def test_a_verdict_that_never_comes_is_withdrawn_and_fails(self):
        created: dict[str, Any] = {}

        def pending(method: str, path: str, body: dict | None):
            if path == "/api/v1/handoffs":
                assert body is not None
                created.update(body)
                return 201, handoff(created, None)
            if path.endswith("/cancel"):
                return 200, handoff(created, None, status="cancelled")
            if path.endswith("/progress"):
                return 200, {"request_id": REQUEST_ID, "status": "pending", "channels": []}
            time.sleep(1)
            return 202, handoff(created, None)

        with FakeServer(pending) as server:
            self.configure(server, deadline_seconds=5)
            decision, reason = decision_of(self.home.hook())
            paths = [path for _, path, _ in server.requests if not path.endswith("/progress")]
        self.assertEqual(decision, "ask")
        self.assertIn("timeout", reason)
        self.assertTrue(paths[1].startswith(f"/api/v1/handoffs/{REQUEST_ID}/verdict?wait="))
        self.assertEqual(paths[-1], f"/api/v1/handoffs/{REQUEST_ID}/cancel")

    def test_a_server_without_a_free_wait_slot_is_asked_again_until_it_answers(self):
        created: dict[str, Any] = {}
        busy = {"answers": 0}

        def crowded(method: str, path: str, body: dict | None):
            if path == "/api/v1/handoffs":
                assert body is not None
                created.update(body)
                return 201, handoff(created, None)
            if path.endswith("/progress"):
                return 404, {"code": "not_found", "detail": "An older server."}
            if busy["answers"] < 2:  # two other waits of this device hold the slots
                busy["answers"] += 1
                return 429, {"code": "too_many_waits", "detail": "Too many waits."}
            return 200, handoff(created, verdict_for(created))

        with FakeServer(crowded) as server:
            self.configure(server, deadline_seconds=30)
            decision, _ = decision_of(self.home.hook())
            verdict_polls = [path for _, path, _ in server.requests if "/verdict" in path]
        self.assertEqual(decision, "allow")
        self.assertEqual(len(verdict_polls), 3)

    def test_a_progress_report_that_claims_a_decision_decides_nothing(self):
        created: dict[str, Any] = {}

        def boastful(method: str, path: str, body: dict | None):
            if path == "/api/v1/handoffs":
                assert body is not None
                created.update(body)
                return 201, handoff(created, None)
            if path.endswith("/progress"):  # says approved, with a verdict: never read as one
                forged = handoff(created, verdict_for(created), status="approved")
                return 200, {**forged, "channels": [{"channel": "phone", "state": "done"}]}
            if path.endswith("/cancel"):
                return 200, handoff(created, None, status="cancelled")
            time.sleep(1)
            return 202, handoff(created, None)

        with FakeServer(boastful) as server:
            self.configure(server, deadline_seconds=5)
            decision, reason = decision_of(self.home.hook())
        self.assertEqual(decision, "ask")
        self.assertIn("timeout", reason)

    def test_any_other_429_still_fails_closed(self):
        def throttled(method: str, path: str, body: dict | None):
            if path == "/api/v1/handoffs":
                assert body is not None
                return 201, handoff(body, None)
            return 429, {"code": "throttled", "detail": "Slow down."}

        with FakeServer(throttled) as server:
            self.configure(server, fail_mode="deny")
            self.assertEqual(decision_of(self.home.hook())[0], "deny")


class WaitingTests(SimpleTestCase):
    """How the connector waits: long-polls sized to the time left, never a loop of asks."""

    def test_it_never_asks_in_a_tight_loop_near_its_deadline(self):
        waits: list[int] = []

        def pending(method: str, path: str, body: dict | None):
            if method == "POST" and path == "/api/v1/handoffs":
                assert body is not None
                return 201, handoff(body, None)
            waits.append(int(path.rsplit("wait=", 1)[1]))
            if len(waits) > 20:  # a loop: stop it, the test has its answer
                return 500, {"code": "server_error", "detail": "enough"}
            return 202, handoff({"action": "db.migrate", "target": "orders-db"}, None)

        # A clock the server's waits move on, as a real long-poll would.
        def clock() -> float:
            return sum(waits) + 0.0

        home = ConnectorHome()
        self.addCleanup(home.close)
        with FakeServer(pending) as server:
            home.write(server.url, device_id=DEVICE_ID)
            request = connector_handoff.Request("db.migrate", "orders-db", "Migrate")
            outcome = connector_handoff.ask(load(home.directory), request, 10.0, clock=clock)
        self.assertEqual(outcome.decision, "timeout")
        self.assertLessEqual(len(waits), 3, waits)
        self.assertNotIn(0, waits)
