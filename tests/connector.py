"""Running the real connector in tests: a config directory, the hook as a subprocess, a fake server.

The hook is run the way Claude Code runs it: a separate Python process with
the PreToolUse JSON on stdin, reading its configuration from
``$XDG_CONFIG_HOME/ony``. The fake server speaks the agent API's wire format
for the hostile cases a real server would never produce (forged or stale
verdicts, garbage, silence).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ony.connector import config as settings
from tests.servers import ROOT
from tests.vectors import load_vectors

RECORDED = load_vectors("claude_code_pretooluse.json")
BASH_CALL: dict[str, Any] = RECORDED["bash"]
HOOK = [sys.executable, "-P", "-m", "ony.connector", "hook"]


class ConnectorHome:
    """A temporary home: ``XDG_CONFIG_HOME`` with the connector's config, and the env to run it."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name)
        self.config_home = self.root / "config"
        self.directory = self.config_home / "ony"

    def close(self) -> None:
        self._tmp.cleanup()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ONY_", "DJANGO"))}
        env.update(
            XDG_CONFIG_HOME=str(self.config_home),
            HOME=str(self.root),
            PYTHONPATH=str(ROOT),
        )
        return env

    def run_installed(
        self, *command: str, stdin: str = "", cwd: Path | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run an installed command as a user would: this home, and no PYTHONPATH (only
        what its virtualenv has), from ``cwd`` (the home's root by default)."""
        env = self.env()
        env.pop("PYTHONPATH")
        return subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd or self.root,
            timeout=timeout,
            check=False,
        )

    def write(self, server: str, device: Any = None, **overrides: Any) -> settings.Config:
        """Write device.json for ``device`` (an enrollment result) or a made-up device."""
        values: dict[str, Any] = {
            "server": server,
            "device_id": "dev_000000000000",
            "device_token": "ony_dev_made_up",
            "decision_key": base64.urlsafe_b64encode(bytes(32)).decode().rstrip("="),
            "org": "acme",
            "deadline_seconds": 20,
        }
        if device is not None:
            values.update(
                device_id=device.device.public_id,
                device_token=device.device_token,
                decision_key=device.decision_key,
            )
        values.update(overrides)
        config = settings.Config(**values, directory=self.directory)
        settings.save(config)
        return config

    def hook(
        self, call: dict[str, Any] | bytes = BASH_CALL, agent: str = "claude-code", **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        stdin = call if isinstance(call, bytes) else json.dumps(call).encode()
        result = subprocess.run(
            [*HOOK, agent],
            input=stdin,
            capture_output=True,
            env=self.env(),
            cwd=self.root,
            timeout=kwargs.pop("timeout", 60),
            check=False,
        )
        return subprocess.CompletedProcess(
            result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
        )


def decision_of(result: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """``(permissionDecision, reason)`` from a Claude Code hook's stdout."""
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)["hookSpecificOutput"]
    assert output["hookEventName"] == "PreToolUse"
    return output["permissionDecision"], output["permissionDecisionReason"]


Responder = Callable[[str, str, dict[str, Any] | None], tuple[int, Any]]


class FakeServer:
    """An HTTP server whose answers come from ``respond(method, path, body)``.

    ``respond`` returns ``(status, body)``; a ``bytes`` body is sent as it is,
    anything else as JSON. ``requests`` records what the connector sent.
    """

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.answer(None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                self.answer(json.loads(raw) if raw else None)

            def answer(self, body: dict[str, Any] | None) -> None:
                fake.requests.append((self.command, self.path, body))
                status, payload = fake.respond(self.command, self.path, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
