"""The agents of a stress run: SDK clients in threads, and real hook processes for a sample.

Each client is bound to one device and one web node, asks for a mix of risks
until the run's end, and records what it saw: the decision, the reason, the
request id, the verdict (SDK) and when. A client never decides anything
itself: it believes only what its connector believed.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devices.services import Enrolled
from ony.connector.sdk import Ony
from tests.connector import ConnectorHome

#: (weight, action, target): low is approved by policy, medium left to the
#: agent (``ask``), high phoned, critical phoned with a TOTP code.
MIX = [
    (45, "test.run", "unit tests"),
    (15, "file.write", "src/app.py"),
    (28, "db.migrate", "orders-db"),
    (12, "deploy.production", "prod-api"),
]
#: Shell commands the hook clients run, by the same weights: the connector classifies them.
COMMANDS = [
    (45, "pytest -q"),
    (15, "rm -rf build"),
    (28, "kubectl apply -f deploy.yaml"),
    (12, "npm publish"),
]
#: Most agents give up (and withdraw) before the 30 s deadline; some outwait it.
WAITS = [(80, 20.0), (20, 40.0)]
HOOK_DEADLINE_SECONDS = 25
ONY = Path(sys.executable).parent / "ony"


@dataclass
class Record:
    client: str
    kind: str  # "sdk" or "hook"
    device_id: str
    node: str
    action: str
    wait: float
    started: float  # wall clock
    ended: float
    decision: str
    reason: str
    request_id: str | None
    verdict: dict[str, Any] | None
    detail: str = ""


def pick(rng: random.Random, table: list[Any]) -> Any:
    """One row's value (the row past its weight), chosen by the weights in ``table``."""
    values = [row[1:] if len(row) > 2 else row[1] for row in table]
    return rng.choices(values, weights=[row[0] for row in table])[0]  # fmt: skip


class Clients:
    """``count`` clients over ``devices`` (a device's clients share its waits), split over nodes."""

    def __init__(
        self, devices: list[Enrolled], count: int, hooks: int, urls: dict[str, str], seed: int
    ) -> None:
        self.records: list[Record] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop_at = 0.0
        self.threads: list[threading.Thread] = []
        self.homes: list[ConnectorHome] = []
        nodes = sorted(urls)
        for n in range(count):
            device, node = devices[n % len(devices)], nodes[n % len(nodes)]
            home = ConnectorHome()
            self.homes.append(home)
            config = home.write(
                urls[node], device, org="stress", deadline_seconds=HOOK_DEADLINE_SECONDS
            )
            rng = random.Random(seed * 1000 + n)
            target: Callable[..., None]
            args: tuple[Any, ...]
            if n < hooks:
                target, args = self.hook_client, (f"hook-{n}", home, device, node, rng)
            else:
                client = Ony(config, session=f"stress-{n}")
                target, args = self.sdk_client, (f"sdk-{n}", client, device, node, rng)
            self.threads.append(threading.Thread(target=self.guard, args=(target, *args)))

    def run_until(self, stop_at: float) -> None:
        self.stop_at = stop_at
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join()
        for home in self.homes:
            home.close()

    def guard(self, target: Any, name: str, *args: Any) -> None:
        try:
            target(name, *args)
        except Exception as exc:  # a client's own bug must show, not end the run quietly
            with self.lock:
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)

    def sdk_client(
        self, name: str, ony: Ony, device: Enrolled, node: str, rng: random.Random
    ) -> None:
        time.sleep(rng.uniform(0, 2))  # not all at once
        while time.time() < self.stop_at:
            action, target = pick(rng, MIX)
            wait = pick(rng, WAITS)
            started = time.time()
            outcome = ony.request(action, target, title=f"Stress: {action}", wait=wait)
            self.add(
                Record(
                    name,
                    "sdk",
                    device.device.public_id,
                    node,
                    action,
                    wait,
                    started,
                    time.time(),
                    outcome.decision,
                    outcome.reason,
                    outcome.request_id,
                    outcome.verdict,
                    outcome.detail,
                )
            )
            time.sleep(rng.uniform(0.5, 2.0))

    def hook_client(
        self, name: str, home: ConnectorHome, device: Enrolled, node: str, rng: random.Random
    ) -> None:
        time.sleep(rng.uniform(0, 2))
        while time.time() < self.stop_at:
            command = pick(rng, COMMANDS)
            call = {
                "session_id": name,
                "cwd": str(home.root),
                "hook_event_name": "PreToolUse",
                "tool_name": "Bash",
                "tool_input": {"command": command},
            }
            started = time.time()
            result = home.run_installed(
                str(ONY), "hook", "claude-code", stdin=json.dumps(call), timeout=60
            )
            decision, reason = "none", result.stderr[-200:]
            if result.stdout.strip():
                answer = json.loads(result.stdout)["hookSpecificOutput"]
                decision, reason = answer["permissionDecision"], answer["permissionDecisionReason"]
            request_id = None
            if "[req_" in reason:
                request_id = reason.rsplit("[", 1)[1].rstrip("]")
            self.add(
                Record(
                    name,
                    "hook",
                    device.device.public_id,
                    node,
                    command,
                    float(HOOK_DEADLINE_SECONDS),
                    started,
                    time.time(),
                    decision,
                    reason,
                    request_id,
                    None,
                )
            )
            time.sleep(rng.uniform(0.5, 2.0))
