"""Ask the server, wait for its verdict, and believe only a verified one.

``ask`` creates a handoff with a fresh nonce, long-polls its verdict until
the caller's deadline, and checks the verdict with the device's key and the
request it is bound to (``ony.connector.verdict``). Whatever goes wrong (no
answer, an HTTP error, a malformed answer, a bad signature, a verdict for
another request, an expired one, the deadline) the outcome is not an
approval. ``ask`` never raises.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import unicodedata
from collections import namedtuple
from collections.abc import Callable
from datetime import UTC, datetime

from ony.connector import verdict as verdicts
from ony.connector.client import Server, ServerError, refusal
from ony.connector.config import Config, ConfigError, record_witness, urlsafe_b64

TYPE_CHECKING = False  # typing is not imported at run time: the hook starts on every tool call
if TYPE_CHECKING:
    from typing import Any

MAX_WAIT_SECONDS = 30
#: Stop waiting this long before the deadline, to withdraw the handoff in time.
CANCEL_RESERVE_SECONDS = 2.0
#: Too little time left for one more long-poll of a second with room to spare.
MIN_WAIT_LEFT_SECONDS = 1.5
#: With someone watching (``on_progress``), the longest long-poll between progress reads.
PROGRESS_EVERY_SECONDS = 10
#: A progress read never holds up the wait for the verdict longer than this.
PROGRESS_TIMEOUT_SECONDS = 2.0
#: How long to wait before asking again when the server has no wait slot free.
BUSY_RETRY_SECONDS = 2.0
MAX_PAYLOAD_CHARS = 65536
REQUEST_ID = re.compile(r"^req_[A-Za-z0-9]{1,64}$")

APPROVE, DENY, ASK, TIMEOUT, ERROR = "approve", "deny", "ask", "timeout", "error"


_RequestFields = namedtuple(
    "_RequestFields",
    "action target title summary payload agent_session_id risk_hint",
    defaults=("", None, "ony", None),
)


class Request(_RequestFields):
    """What the agent wants to do, as the server will see it."""

    __slots__ = ()

    def body(self, nonce: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "action": self.action,
            "target": self.target,
            "title": self.title,
            "summary": self.summary,
            "agent_session_id": self.agent_session_id,
            "nonce": nonce,
        }
        if self.payload is not None:
            body["payload"] = self.payload
        if self.risk_hint:
            body["risk_hint"] = self.risk_hint
        return body


class Outcome(
    namedtuple("Outcome", "decision reason detail request_id verdict", defaults=(None, None))
):
    """``decision`` is approve, deny, ask, timeout or error; ``reason`` a stable code."""

    __slots__ = ()

    @property
    def approved(self) -> bool:
        return self.decision == APPROVE


def text(value: str, limit: int) -> str:
    """Text the server accepts: NFC, no control characters but newline and tab, no lone
    surrogates, bounded."""
    value = unicodedata.normalize("NFC", value)
    value = "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs") else "\ufffd"
        for ch in value
    )
    if len(value) > limit:
        value = value[: limit - 40] + f"\n[... {len(value) - limit + 40} characters cut]"
    return value


def ask(
    config: Config,
    request: Request,
    deadline: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    on_created: Callable[[dict[str, Any]], None] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> Outcome:
    """Create the handoff; wait until ``deadline`` (a ``clock`` time) for a verified verdict.

    ``on_created`` is called with the server's handoff once it exists (for
    a person watching: its id, risk and expiry), before any wait. With
    ``on_progress``, the server's progress report (which channels, how many
    approvers, how many calls or messages) is read after the handoff is
    created and after each long-poll, which then lasts at most
    ``PROGRESS_EVERY_SECONDS``; the report never decides anything, and a
    failure to read it is ignored.
    """
    server = Server(config.server, config.device_token)
    nonce = urlsafe_b64(os.urandom(24))
    request_id = None
    try:
        status, data = server.call(
            "POST", "/api/v1/handoffs", request.body(nonce), timeout=deadline - clock() - 1
        )
        if status not in (200, 201):
            raise refusal(status, data)
        handoff = _handoff(data, request)
        request_id = handoff["request_id"]
        if on_created is not None:
            on_created(handoff)
        expected = verdicts.Expected(
            config.device_id, request_id, nonce, request.action, request.target, handoff["risk"]
        )
        verdict = handoff["verdict"]
        longest = MAX_WAIT_SECONDS if on_progress is None else PROGRESS_EVERY_SECONDS
        while verdict is None:
            if on_progress is not None:
                _report_progress(server, request_id, deadline - clock(), on_progress)
            left = deadline - clock() - CANCEL_RESERVE_SECONDS
            if left < MIN_WAIT_LEFT_SECONDS:
                _withdraw(server, request_id, deadline - clock())
                return Outcome(TIMEOUT, "timeout", "no decision before the deadline", request_id)
            # At least a second: a wait of 0 answers at once, and the loop would spin.
            wait = max(1, min(longest, int(left - 0.5)))
            status, data = server.call(
                "GET", f"/api/v1/handoffs/{request_id}/verdict?wait={wait}", timeout=left
            )
            if status == 429 and _code(data) == "too_many_waits":
                # This device already has as many waits open as the server
                # allows (other agents on this machine): ask again shortly.
                time.sleep(min(BUSY_RETRY_SECONDS, max(0.0, left - 1)))
                continue
            if status not in (200, 202):
                raise refusal(status, data)
            verdict = _handoff(data, request, request_id)["verdict"]
            if status == 200 and verdict is None:
                raise ServerError("bad_response", "decided, but no verdict", status)
        return judge(config, verdict, expected)
    except ServerError as exc:
        decision = TIMEOUT if exc.reason == "timeout" else ERROR
        return Outcome(decision, exc.reason, str(exc), request_id)
    except Exception as exc:  # never let a surprise become anything but "no"
        return Outcome(ERROR, "internal_error", f"{type(exc).__name__}: {exc}", request_id)


def _report_progress(
    server: Server, request_id: str, left: float, on_progress: Callable[[dict[str, Any]], None]
) -> None:
    """Hand the server's progress report on ``request_id`` to ``on_progress``, if it gives one."""
    if left < MIN_WAIT_LEFT_SECONDS + PROGRESS_TIMEOUT_SECONDS:
        return
    # Only for the person watching: nothing here may change the outcome.
    with contextlib.suppress(Exception):
        status, data = server.call(
            "GET", f"/api/v1/handoffs/{request_id}/progress", timeout=PROGRESS_TIMEOUT_SECONDS
        )
        if status == 200 and isinstance(data, dict) and data.get("request_id") == request_id:
            on_progress(data)


def _code(data: Any) -> str:
    return str(data.get("code", "")) if isinstance(data, dict) else ""


def _handoff(data: dict[str, Any], request: Request, request_id: str | None = None) -> dict:
    """The handoff in an answer, checked for the fields the connector relies on."""
    rid, risk, verdict = data.get("request_id"), data.get("risk"), data.get("verdict")
    if not isinstance(rid, str) or not REQUEST_ID.match(rid):
        raise ServerError("bad_response", "the answer has no valid request_id")
    if request_id is not None and rid != request_id:
        raise ServerError("mismatch", "the answer is about another request")
    if not isinstance(risk, str) or (verdict is not None and not isinstance(verdict, dict)):
        raise ServerError("bad_response", "the answer is not a handoff")
    if data.get("action") != request.action or data.get("target") != request.target:
        raise ServerError("mismatch", "the server recorded another action or target")
    return data


def judge(config: Config, verdict: Any, expected: verdicts.Expected) -> Outcome:
    """The outcome a verdict justifies: nothing but a verified, current, bound one counts."""
    try:
        decision = verdicts.authenticate(config.key, verdict, expected)
        verdicts.check_time(verdict, datetime.now(UTC))
    except verdicts.VerdictRejected as exc:
        return Outcome(ERROR, exc.reason, str(exc), expected.request_id)
    # The witness is for the record: a read-only config must not block the agent.
    with contextlib.suppress(OSError, ConfigError):
        record_witness(config.directory, verdict["audit_seq"], verdict["audit_hash"])
    via = verdict["decided_via"]
    rid = expected.request_id
    if decision == APPROVE:
        return Outcome(APPROVE, "approved", f"approved ({via})", rid, verdict)
    if decision == ASK:
        return Outcome(ASK, "deferred", f"left to the agent's own prompt ({via})", rid, verdict)
    reason = {"deadline": "expired", "cancel": "cancelled"}.get(via, "denied")
    return Outcome(DENY, reason, f"{reason} ({via})", rid, verdict)


def _withdraw(server: Server, request_id: str, left: float) -> None:
    """Cancel the handoff so nobody is called about a request the agent no longer waits for."""
    with contextlib.suppress(ServerError):  # if not, the server's deadline expires it
        server.call("POST", f"/api/v1/handoffs/{request_id}/cancel", timeout=min(1.5, left))
