"""The approvers of a stress run: a scripted hand on each phone, and one in the dashboard.

``Phones`` answers every call the simulator rings with a scripted mix:
approve (with the TOTP code when asked), deny, no answer, busy, an answering
machine, silence. ``Dashboard`` decides pending high-risk requests through
the member API now and then, so keypad and dashboard race for the same
handoffs. Both carry on through the faults: what fails is counted, not fatal.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

from ony.models import TOTPDevice
from telephony.simulator.core import Simulator

#: (weight, what the person does).
SCRIPT = [
    (40, "approve"),
    (20, "deny"),
    (15, "no_answer"),
    (10, "machine"),
    (10, "busy"),
    (5, "silence"),
]


class Person:
    """Someone acting in a thread of their own (``watch``) from ``start`` until ``stop``;
    ``done`` counts what they did."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.done: Counter[str] = Counter()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(20)

    def watch(self) -> None:
        raise NotImplementedError


class Phones(Person):
    def __init__(
        self, simulator: Simulator, authenticators: dict[str, TOTPDevice], seed: int
    ) -> None:
        super().__init__(seed)
        self.simulator = simulator
        self.authenticators = authenticators
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def watch(self) -> None:
        while not self.stopped.wait(0.1):
            for call in self.simulator.ringing():
                if call.sid in self.seen:
                    continue
                self.seen.add(call.sid)
                script = self.rng.choices([s[1] for s in SCRIPT], weights=[s[0] for s in SCRIPT])[0]
                delay = self.rng.uniform(0.2, 1.5)
                threading.Thread(
                    target=self.act, args=(call.sid, call.to, script, delay), daemon=True
                ).start()

    def act(self, sid: str, phone: str, script: str, delay: float) -> None:
        time.sleep(delay)
        try:
            self.play(sid, phone, script)
            outcome = script
        except Exception as exc:  # the call ended meanwhile, or Ony could not be reached
            outcome = f"{script} failed ({type(exc).__name__})"
        with self.lock:
            self.done[outcome] += 1

    def play(self, sid: str, phone: str, script: str) -> None:
        simulator = self.simulator
        if script == "no_answer":
            simulator.no_answer(sid)
        elif script == "busy":
            simulator.decline(sid)
        elif script == "machine":
            simulator.answer(sid, answered_by="machine_start")
        else:
            call = simulator.answer(sid)
            if script == "silence":
                simulator.silence(sid)
                return
            simulator.press(sid, "1" if script == "approve" else "2")
            if script == "approve" and "6 digit code" in " ".join(call.prompt):
                simulator.press(sid, self.code(phone))

    def code(self, phone: str) -> str:
        """What the approver's authenticator app shows now (computed here: no database)."""
        device = self.authenticators[phone]
        return str(device.totp().token()).zfill(device.digits)


class Dashboard(Person):
    """Every ``every`` seconds, a member of each org decides one pending high-risk request."""

    def __init__(
        self, urls: list[str], tokens: dict[str, str], seed: int, every: float = 2.0
    ) -> None:
        super().__init__(seed)
        self.urls, self.tokens, self.every = urls, tokens, every

    def watch(self) -> None:
        while not self.stopped.wait(self.every):
            for slug, token in self.tokens.items():
                url = self.rng.choice(self.urls)
                try:
                    self.done[self.decide_one(url, slug, token)] += 1
                except (OSError, ValueError, KeyError, http.client.HTTPException):
                    self.done["unreachable"] += 1

    def decide_one(self, url: str, slug: str, token: str) -> str:
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        status, body = request(url, "GET", f"/api/v1/handoffs?status=pending&org={slug}", headers)
        if status != 200:
            return f"list {status}"
        pending = [h for h in body["results"] if h["risk"] == "high"]
        if not pending:
            return "nothing pending"
        handoff = self.rng.choice(pending)
        decision = self.rng.choice(["approve", "deny"])
        path = f"/api/v1/handoffs/{handoff['request_id']}/decision"
        status, _ = request(url, "POST", path, headers, {"decision": decision})
        return f"{decision} {status}"


def request(
    url: str, method: str, path: str, headers: dict[str, str], body: dict | None = None
) -> tuple[int, dict]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=15)
    try:
        conn.request(method, path, None if body is None else json.dumps(body), headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}
    finally:
        conn.close()
