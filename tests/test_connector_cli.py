"""The `ony` command end to end (enroll, install, request, status) and the SDK."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import stat
import subprocess
import sys
import threading
from pathlib import Path
from unittest import mock

from django.core.management import call_command
from django.db import connection
from django.test import LiveServerTestCase, SimpleTestCase
from prometheus_client import REGISTRY

from audit.events import SYSTEM
from devices import services as devices
from devices.models import Device
from handoffs import services as handoffs
from handoffs.models import Handoff, Status
from ony import services as org_services
from ony.connector import cli, install
from ony.connector import config as settings
from ony.connector.sdk import NotApproved, Ony
from ony.roles import Role
from tests.base import enroll_device
from tests.connector import BASH_CALL, ConnectorHome, decision_of
from tests.servers import until

#: The ``ony`` command as the virtualenv has it (``make`` installs the project
#: into it, as the README says): run from a folder of its own, without PYTHONPATH.
ONY_COMMAND = Path(sys.executable).parent / "ony"


def ony(home: ConnectorHome, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``ony ARGS`` as a user would, from the virtualenv's ``bin``."""
    assert ONY_COMMAND.exists(), f"{ONY_COMMAND} is missing: run the suite with `make test`"
    return home.run_installed(str(ONY_COMMAND), *args, cwd=cwd)


def run_shell(script: str, home: ConnectorHome) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["/bin/sh", "-c", script],
        env=home.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class LiveConnectorTestCase(LiveServerTestCase):
    def setUp(self):
        self.org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        self.bob = org_services.add_member(
            self.org, "bob@acme.test", actor=SYSTEM, role=Role.MEMBER
        )
        self.home = ConnectorHome()
        self.addCleanup(self.home.close)

    def enrolled(self, server: str | None = None, **overrides):
        self.laptop = enroll_device(self.org)
        return self.home.write(server or self.live_server_url, self.laptop, **overrides)

    def in_home(self):
        """Run ``cli.main`` in-process with this test's XDG_CONFIG_HOME."""
        return mock.patch.dict(os.environ, {"XDG_CONFIG_HOME": str(self.home.config_home)})


class EnrollTests(LiveConnectorTestCase):
    def test_it_enrolls_and_writes_a_private_config(self):
        _, token = devices.create_enrollment_token(self.org)
        result = ony(
            self.home,
            "enroll",
            "--server",
            self.live_server_url,
            "--token",
            token,
            "--name",
            "ci-runner",
            "--fail-mode",
            "deny",
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        path = self.home.directory / settings.DEVICE_FILE
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600)
        config = settings.load(self.home.directory)
        device = Device.objects.get()
        self.assertEqual((config.device_id, config.org), (device.public_id, "acme"))
        self.assertEqual((device.name, config.fail_mode), ("ci-runner", "deny"))
        self.assertEqual(len(config.key), 32)
        self.assertNotIn(config.device_token, result.stdout + result.stderr)

    def test_it_refuses_a_used_token_and_keeps_the_old_config(self):
        self.enrolled()
        before = (self.home.directory / settings.DEVICE_FILE).read_bytes()
        result = ony(self.home, "enroll", "--server", self.live_server_url, "--token", "bad")
        self.assertEqual(result.returncode, 1)
        self.assertIn("already enrolled", result.stderr)
        result = ony(
            self.home, "enroll", "--server", self.live_server_url, "--token", "bad", "--force"
        )
        self.assertEqual(result.returncode, 1)
        self.assertIn("enrollment_token_invalid", result.stderr)
        self.assertEqual((self.home.directory / settings.DEVICE_FILE).read_bytes(), before)

    def test_it_refuses_plain_http_to_a_remote_server(self):
        result = ony(self.home, "enroll", "--server", "http://ony.example.com", "--token", "t")
        self.assertEqual(result.returncode, 1)
        self.assertIn("https", result.stderr)
        self.assertFalse(self.home.directory.exists())


class RequestTests(LiveConnectorTestCase):
    def request(self, action: str, *extra: str) -> tuple[int, dict]:
        stdout = io.StringIO()
        with self.in_home(), contextlib.redirect_stdout(stdout):
            code = cli.main(
                [
                    "request",
                    "--action",
                    action,
                    "--target",
                    "prod-api",
                    "--title",
                    "Deploy",
                    "--json",
                    *extra,
                ]
            )
        return code, json.loads(stdout.getvalue())

    def test_exit_status_zero_only_for_a_verified_approval(self):
        self.enrolled()
        self.assertEqual(self.request("file.read")[0], cli.EXIT_APPROVED)
        self.assertEqual(self.request("file.write")[0], cli.EXIT_ASK)  # medium: ask

    def test_a_denial_exits_3_and_the_deadline_5(self):
        self.enrolled()

        def deny_when_pending() -> None:
            # Once the connector's long-poll is parked the server is idle, so this
            # thread never uses the database at the same time as the server's.
            try:
                until(
                    lambda: (REGISTRY.get_sample_value("ony_verdict_waiters") or 0) >= 1,
                    20,
                    "the wait",
                )
                handoff = Handoff.objects.get(status=Status.PENDING)
                handoffs.decide_as_member(self.bob.user, handoff, "deny")
            finally:
                connection.close()

        thread = threading.Thread(target=deny_when_pending)
        thread.start()
        code, outcome = self.request("deploy.production", "--wait", "20")
        thread.join()
        self.assertEqual((code, outcome["reason"]), (cli.EXIT_DENIED, "denied"))

        code, outcome = self.request("deploy.production", "--wait", "3")
        self.assertEqual((code, outcome["decision"]), (cli.EXIT_TIMEOUT, "timeout"))
        self.assertEqual(Handoff.objects.latest("id").status, Status.CANCELLED)

    def test_it_says_on_stderr_what_it_asked_and_what_it_waits_for(self):
        self.enrolled()
        decided = ony(
            self.home, "request", "--action", "file.read", "--target", "x", "--title", "t"
        )
        self.assertRegex(decided.stderr, r"ony: req_\w+ \(risk low\) was decided at once")
        self.assertIn("ony: approve:", decided.stderr)
        waited = ony(
            self.home,
            "request",
            *("--action", "deploy.production", "--target", "prod", "--title", "t"),
            *("--wait", "5"),
        )
        request_id = Handoff.objects.get(action="deploy.production").public_id
        self.assertIn(
            f"ony: asked for {request_id} (risk critical); waiting for a person", waited.stderr
        )
        # Nobody in Acme has a phone, and no telephony provider is set.
        self.assertIn("ony: phone: nobody can be called", waited.stderr)
        self.assertIn("decide in the dashboard", waited.stderr)
        self.assertIn("ony: dashboard: open for a decision", waited.stderr)
        self.assertIn("ony: timeout:", waited.stderr)
        self.assertEqual(waited.returncode, cli.EXIT_TIMEOUT)

    def test_errors_exit_1(self):
        self.enrolled(server="http://127.0.0.1:9")
        code, outcome = self.request("file.read")
        self.assertEqual((code, outcome["reason"]), (cli.EXIT_ERROR, "server_unreachable"))

    def test_the_payload_file_is_sent_as_the_payload(self):
        self.enrolled()
        payload = self.home.root / "plan.txt"
        payload.write_text("terraform plan output\n")
        self.request("file.read", "--payload-file", str(payload))
        self.assertEqual(Handoff.objects.get().payload, "terraform plan output\n")

    def test_it_chains_with_the_shell(self):
        self.enrolled()
        script = f"{shlex.quote(sys.executable)} -P -m ony.connector request --action file.read "
        script += "--target x --title t && echo RAN"
        result = run_shell(script, self.home)
        self.assertEqual(result.stdout.strip(), "RAN")
        script = script.replace("file.read", "deploy.production").replace(" && ", " --wait 2 && ")
        result = run_shell(script, self.home)
        self.assertEqual(result.stdout.strip(), "")


class StatusTests(LiveConnectorTestCase):
    def test_it_reports_the_server_the_device_and_the_witness(self):
        self.enrolled()
        self.assertEqual(
            ony(
                self.home, "request", "--action", "file.read", "--target", "x", "--title", "t"
            ).returncode,
            0,
        )
        result = ony(self.home, "status")
        witness = settings.read_witness(self.home.directory)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("status:  active", result.stdout)
        # The auditor's command runs as printed.
        printed = next(line for line in result.stdout.splitlines() if "manage.py" in line)
        args = shlex.split(printed.split("manage.py verify_chain", 1)[1])
        self.assertEqual(args, ["--org", "acme", "--witness", f"{witness[0]}:{witness[1]}"])
        out = io.StringIO()
        call_command("verify_chain", *args, stdout=out)
        self.assertIn(f"acme: witness #{witness[0]} matches", out.getvalue())

    def test_it_fails_for_a_revoked_device(self):
        self.enrolled()
        devices.revoke(self.laptop.device, actor=SYSTEM)
        result = ony(self.home, "status")
        self.assertEqual(result.returncode, 1)
        self.assertIn("device_revoked", result.stdout)


class SdkTests(LiveConnectorTestCase):
    def test_require_returns_on_approval_and_raises_otherwise(self):
        self.enrolled()
        client = Ony.from_config(self.home.directory)
        outcome = client.require("file.read", "README.md", title="Read the README")
        self.assertTrue(outcome.approved)
        with self.assertRaises(NotApproved) as caught:
            client.require("file.write", "a.py", title="Write")
        self.assertEqual(caught.exception.outcome.decision, "ask")

    def test_the_decorator_guards_every_call(self):
        self.enrolled()
        client = Ony.from_config(self.home.directory)
        calls = []

        @client.guard("deploy.production", target="prod-api", title="Deploy")
        def deploy() -> str:
            calls.append(1)
            return "deployed"

        @client.guard("file.read", target="notes")
        def read() -> str:
            return "read"

        self.assertEqual(read(), "read")
        client.config.deadline_seconds = 3
        with self.assertRaises(NotApproved):
            deploy()
        self.assertEqual(calls, [])
        self.assertEqual(Handoff.objects.latest("id").title, "Deploy")

    def test_without_a_config_it_raises_a_clear_error(self):
        with self.assertRaises(settings.ConfigError) as caught:
            Ony.from_config(self.home.directory)
        self.assertEqual(caught.exception.reason, "not_enrolled")


class InstallEndToEndTests(LiveConnectorTestCase):
    """Install into a temporary Claude Code settings file, run what it installed, approve: allow."""

    def test_it_installs_a_hook_that_asks_the_server(self):
        self.enrolled()
        self.org.policy_medium = "phone"
        self.org.save(update_fields=["policy_medium"])
        result = ony(self.home, "install", "claude-code", "--user")
        self.assertEqual(result.returncode, 0, result.stderr)
        settings_file = self.home.root / ".claude" / "settings.json"
        entry = json.loads(settings_file.read_text())["hooks"]["PreToolUse"][0]
        hook = entry["hooks"][0]
        self.assertEqual(entry["matcher"], "*")
        self.assertTrue(Path(shlex.split(hook["command"])[0]).is_absolute())
        self.assertGreater(hook["timeout"], 20)  # above the connector's own deadline (20 s)

        process = subprocess.Popen(  # noqa: S602 - exactly as Claude Code runs a command hook
            hook["command"],
            shell=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=self.home.env(),
            cwd=self.home.root,
        )
        self.addCleanup(process.kill)
        process.stdin.write(json.dumps(BASH_CALL))
        process.stdin.close()
        # Once its long-poll is parked (after the create and the progress read), the live
        # server is idle: on SQLite the test shares its one connection with it.
        until(
            lambda: (REGISTRY.get_sample_value("ony_verdict_waiters") or 0) >= 1,
            15,
            "the hook to wait for its verdict",
        )
        pending = Handoff.objects.get(status=Status.PENDING)
        handoffs.decide_as_member(self.bob.user, pending, "approve")
        out = process.stdout.read()
        process.wait(timeout=30)
        answer = json.loads(out)["hookSpecificOutput"]
        self.assertEqual(answer["permissionDecision"], "allow")
        pending.refresh_from_db()
        self.assertEqual((pending.status, pending.action), (Status.APPROVED, "file.write"))


class InstallTests(SimpleTestCase):
    def setUp(self):
        self.home = ConnectorHome()
        self.addCleanup(self.home.close)
        self.path = self.home.root / ".claude" / "settings.json"
        self.path.parent.mkdir()

    def test_it_keeps_the_users_settings_and_other_hooks(self):
        theirs = {
            "model": "opus",
            "permissions": {"allow": ["Bash(ls:*)"]},
            "hooks": {
                "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "x"}]}],
                "PostToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "y"}]}],
            },
        }
        self.path.write_text(json.dumps(theirs))
        command = install.hook_command("/usr/bin/python3")
        install.install(self.path, command, 135)
        install.install(self.path, command, 135)  # twice: still one hook of ours
        data = json.loads(self.path.read_text())
        self.assertEqual((data["model"], data["permissions"]), ("opus", theirs["permissions"]))
        self.assertEqual(data["hooks"]["PostToolUse"], theirs["hooks"]["PostToolUse"])
        groups = data["hooks"]["PreToolUse"]
        self.assertEqual(groups[0], theirs["hooks"]["PreToolUse"][0])
        self.assertEqual(
            groups[1]["hooks"], [{"type": "command", "command": command, "timeout": 135}]
        )
        self.assertEqual(len(groups), 2)

        self.assertEqual(install.uninstall(self.path), 1)
        self.assertEqual(json.loads(self.path.read_text()), theirs)

    def test_it_replaces_a_hook_an_earlier_version_installed(self):
        old = "/usr/bin/python3 -P -m ony.connector hook claude-code"
        install.install(self.path, old, 135)
        install.install(self.path, install.hook_command("/usr/bin/python3"), 135)
        [group] = json.loads(self.path.read_text())["hooks"]["PreToolUse"]
        self.assertEqual(
            [hook["command"] for hook in group["hooks"]], [install.hook_command("/usr/bin/python3")]
        )

    def test_uninstall_removes_only_ours_and_the_containers_it_emptied(self):
        install.install(self.path, install.hook_command("/usr/bin/python3"), 135)
        install.uninstall(self.path)
        self.assertEqual(json.loads(self.path.read_text()), {})

    def test_it_refuses_a_settings_file_that_is_not_json_and_leaves_it(self):
        self.path.write_text("{ not json")
        with self.assertRaises(install.InstallError):
            install.install(self.path, install.hook_command(), 135)
        self.assertEqual(self.path.read_text(), "{ not json")

    def test_it_refuses_to_install_a_hook_whose_python_cannot_run_it(self):
        with self.assertRaises(install.InstallError):
            install.check_runnable("/bin/false")

    def test_the_hook_runs_with_P_so_the_project_cannot_shadow_the_connector(self):
        fake = self.home.root / "ony" / "connector"
        fake.mkdir(parents=True)
        (self.home.root / "ony" / "__init__.py").write_text("")
        (fake / "__init__.py").write_text("")
        (fake / "__main__.py").write_text(
            'print(\'{"hookSpecificOutput": {"hookEventName": "PreToolUse", '
            '"permissionDecision": "allow", "permissionDecisionReason": "shadowed"}}\')'
        )
        env = {**self.home.env(), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        result = subprocess.run(
            shlex.split(install.hook_command()),
            input=json.dumps(BASH_CALL),
            capture_output=True,
            text=True,
            env=env,
            cwd=self.home.root,  # the project directory holds the fake package
            timeout=60,
            check=False,
        )
        decision, reason = decision_of(result)
        self.assertEqual(decision, "ask")
        self.assertIn("not_enrolled", reason)
