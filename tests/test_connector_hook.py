"""The real hook, run as Claude Code and Codex run it, against a real Ony server.

Only a verified approval may print ``allow``. Everything else (a denial, a
deferral, a revoked device, no server, a missing or unsafe config) prints the
configured fail mode with a reason; the hostile answers no real server gives
are in test_connector_hostile.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

from django.test import Client, LiveServerTestCase
from prometheus_client import REGISTRY

from audit.events import SYSTEM
from audit.models import AuditEntry
from devices import services as devices
from handoffs.models import Handoff, Status
from ony import api_tokens
from ony import services as org_services
from ony.connector import config as settings
from ony.roles import Role
from tests.base import enroll_device
from tests.connector import BASH_CALL, HOOK, ConnectorHome, decision_of
from tests.servers import until

READ_CALL = {**BASH_CALL, "tool_name": "Read", "tool_input": {"file_path": "/w/p/README.md"}}
READ_CALL["cwd"] = "/w/p"


class HookTestCase(LiveServerTestCase):
    def setUp(self):
        self.org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        self.bob = org_services.add_member(
            self.org, "bob@acme.test", actor=SYSTEM, role=Role.MEMBER
        ).user
        self.laptop = enroll_device(self.org)
        self.home = ConnectorHome()
        self.addCleanup(self.home.close)
        self.config = self.home.write(self.live_server_url, self.laptop)

    def route_medium_to_people(self) -> None:
        """Medium risk waits for a human (the default lets the agent's prompt decide)."""
        self.org.policy_medium = "phone"
        self.org.save(update_fields=["policy_medium"])

    def start_hook(self, call=BASH_CALL, agent="claude-code") -> subprocess.Popen:
        process = subprocess.Popen(
            [*HOOK, agent],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.home.env(),
            cwd=self.home.root,
        )
        assert process.stdin is not None  # stdin=PIPE
        process.stdin.write(json.dumps(call))
        process.stdin.close()
        self.addCleanup(process.kill)
        return process

    def answer_of(self, process: subprocess.Popen) -> dict:
        assert process.stdout is not None  # stdout=PIPE
        out = process.stdout.read()
        process.wait(timeout=30)
        return json.loads(out)["hookSpecificOutput"]

    def pending_handoff(self) -> Handoff:
        """The handoff the hook created, once its long-poll is parked.

        Only then is the live server idle: on SQLite this test and the server
        share one connection, and a write of the test's while the server still
        finishes the create (its on-commit work) would land in its transaction.
        """
        waiting = Handoff.objects.none()

        def parked() -> bool:
            if (REGISTRY.get_sample_value("ony_verdict_waiters") or 0) < 1:
                return False
            nonlocal waiting
            waiting = Handoff.objects.filter(status=Status.PENDING)
            return waiting.exists()

        until(parked, 15, "the hook to wait for its verdict")
        return waiting.get()

    def decide_through_the_api(self, handoff: Handoff, decision: str) -> None:
        _, token = api_tokens.create(self.bob, "test")
        response = Client().post(
            f"/api/v1/handoffs/{handoff.public_id}/decision",
            {"decision": decision},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
        )
        self.assertEqual(response.status_code, 200, response.content)


class ClaudeCodeHookTests(HookTestCase):
    def test_it_allows_a_low_risk_call_the_policy_approves(self):
        decision, reason = decision_of(self.home.hook(READ_CALL))
        handoff = Handoff.objects.get()
        self.assertEqual(decision, "allow")
        self.assertIn(handoff.public_id, reason)
        self.assertEqual((handoff.action, handoff.target), ("file.read", "README.md"))
        self.assertEqual((handoff.status, handoff.decided_via), (Status.APPROVED, "policy"))
        witness = settings.read_witness(self.home.directory)
        self.assertEqual(witness, (handoff.verdict["audit_seq"], handoff.verdict["audit_hash"]))
        self.assertTrue(
            AuditEntry.objects.filter(seq=witness[0], hash=bytes.fromhex(witness[1])).exists()
        )

    def test_it_sends_only_the_action_and_target_unless_payloads_are_on(self):
        decision_of(self.home.hook())
        handoff = Handoff.objects.get()
        self.assertEqual((handoff.action, handoff.target), ("file.write", "canary.txt"))
        self.assertEqual(handoff.payload_sha256, "")
        self.assertNotIn("ONY_CANARY", handoff.title + handoff.summary)
        self.assertEqual(handoff.agent_session_id, BASH_CALL["session_id"])

        self.home.write(self.live_server_url, self.laptop, attach_payload=True)
        decision_of(self.home.hook())
        latest = Handoff.objects.latest("id")
        self.assertEqual(latest.payload, BASH_CALL["tool_input"]["command"])

    def test_it_asks_when_the_policy_defers_to_the_agents_prompt(self):
        decision, reason = decision_of(self.home.hook())
        self.assertEqual(decision, "ask")
        self.assertIn("left to the agent's own prompt", reason)

    def test_it_allows_after_a_member_approves_through_the_api(self):
        self.route_medium_to_people()
        process = self.start_hook()
        handoff = self.pending_handoff()
        self.decide_through_the_api(handoff, "approve")
        output = self.answer_of(process)
        self.assertEqual(output["permissionDecision"], "allow")
        handoff.refresh_from_db()
        self.assertEqual((handoff.status, handoff.decided_via), (Status.APPROVED, "api"))

    def test_it_denies_when_a_member_denies(self):
        self.route_medium_to_people()
        process = self.start_hook()
        self.decide_through_the_api(self.pending_handoff(), "deny")
        output = self.answer_of(process)
        self.assertEqual(output["permissionDecision"], "deny")
        self.assertIn("denied", output["permissionDecisionReason"])
        # What happened goes to stderr, which Claude Code shows in its verbose mode.
        assert process.stderr is not None  # stderr=PIPE
        said = process.stderr.read()
        self.assertIn("(risk medium); waiting for a person's decision", said)
        self.assertIn("ony: phone: nobody can be called", said)
        self.assertIn("ony: dashboard: open for a decision", said)

    def test_it_withdraws_the_handoff_at_its_own_deadline(self):
        self.route_medium_to_people()
        self.home.write(self.live_server_url, self.laptop, deadline_seconds=5)
        began = time.monotonic()
        decision, reason = decision_of(self.home.hook())
        self.assertLess(time.monotonic() - began, 5 + 3)  # it answered itself, in time
        self.assertEqual(decision, "ask")
        self.assertIn("timeout", reason)
        self.assertEqual(Handoff.objects.get().status, Status.CANCELLED)

    def test_a_revoked_device_gets_the_fail_mode(self):
        devices.revoke(self.laptop.device, actor=SYSTEM)
        for mode in ("ask", "deny"):
            with self.subTest(mode):
                self.home.write(self.live_server_url, self.laptop, fail_mode=mode)
                decision, reason = decision_of(self.home.hook(READ_CALL))
                self.assertEqual(decision, mode)
                self.assertIn("device_revoked", reason)
        self.assertFalse(Handoff.objects.exists())

    def test_a_frozen_device_gets_the_fail_mode(self):
        devices.freeze(self.laptop.device, actor=SYSTEM, reason="test")
        decision, reason = decision_of(self.home.hook(READ_CALL))
        self.assertEqual(decision, "ask")
        self.assertIn("device_frozen", reason)

    def test_a_server_that_is_down_gets_the_fail_mode(self):
        for mode in ("ask", "deny"):
            with self.subTest(mode):
                self.home.write("http://127.0.0.1:9", self.laptop, fail_mode=mode)
                decision, reason = decision_of(self.home.hook(READ_CALL))
                self.assertEqual(decision, mode)
                self.assertIn("server_unreachable", reason)

    def test_a_missing_config_gets_ask(self):
        (self.home.directory / settings.DEVICE_FILE).unlink()
        decision, reason = decision_of(self.home.hook(READ_CALL))
        self.assertEqual(decision, "ask")
        self.assertIn("not_enrolled", reason)

    def test_a_config_others_can_read_is_refused_with_its_own_fail_mode(self):
        for mode in ("ask", "deny"):
            with self.subTest(mode):
                self.home.write(self.live_server_url, self.laptop, fail_mode=mode)
                os.chmod(self.home.directory / settings.DEVICE_FILE, 0o644)
                decision, reason = decision_of(self.home.hook(READ_CALL))
                self.assertEqual(decision, mode)
                self.assertIn("unsafe_config", reason)
        self.assertFalse(Handoff.objects.exists())

    def test_stdin_that_is_not_a_tool_call_gets_the_fail_mode(self):
        for stdin in (b"", b"not json", b"[]", b'{"tool_input": {}}', b"\xff\xfe"):
            with self.subTest(stdin):
                decision, reason = decision_of(self.home.hook(stdin))
                self.assertEqual(decision, "ask")
                self.assertIn("bad_input", reason)
        self.assertFalse(Handoff.objects.exists())

    def test_it_answers_by_itself_when_stdin_never_ends(self):
        self.home.write(self.live_server_url, self.laptop, deadline_seconds=5)
        process = subprocess.Popen(
            [*HOOK, "claude-code"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=self.home.env(),
        )
        self.addCleanup(process.kill)
        began = time.monotonic()
        out = process.stdout.readline()  # stdin stays open: only the watchdog can answer
        self.assertLess(time.monotonic() - began, 5 + 3)
        output = json.loads(out)["hookSpecificOutput"]
        self.assertEqual(output["permissionDecision"], "ask")
        self.assertIn("deadline", output["permissionDecisionReason"])


class CodexHookTests(HookTestCase):
    def test_an_approval_prints_nothing(self):
        result = self.home.hook(READ_CALL, agent="codex")
        self.assertEqual((result.returncode, result.stdout), (0, ""))
        self.assertEqual(Handoff.objects.get().status, Status.APPROVED)

    def test_a_denial_prints_deny_with_a_reason(self):
        self.route_medium_to_people()
        process = self.start_hook(agent="codex")
        self.decide_through_the_api(self.pending_handoff(), "deny")
        output = self.answer_of(process)
        self.assertEqual(output["permissionDecision"], "deny")
        self.assertTrue(output["permissionDecisionReason"].strip())

    def test_the_fail_mode_ask_defers_to_codex_and_deny_denies(self):
        self.home.write("http://127.0.0.1:9", self.laptop, fail_mode="ask")
        self.assertEqual(self.home.hook(READ_CALL, agent="codex").stdout, "")
        self.home.write("http://127.0.0.1:9", self.laptop, fail_mode="deny")
        output = json.loads(self.home.hook(READ_CALL, agent="codex").stdout)["hookSpecificOutput"]
        self.assertEqual(output["permissionDecision"], "deny")
        self.assertIn("server_unreachable", output["permissionDecisionReason"])
