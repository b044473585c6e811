"""``ony hook claude-code`` and ``ony hook codex``: answer a PreToolUse hook, always in time.

Claude Code runs a tool call whose hook timed out, crashed or printed
something that is not JSON, so the hook must answer itself: a watchdog
thread prints the fail-mode answer at the connector's deadline (set below
the hook ``timeout`` that ``ony install`` writes), and every error on the
way is turned into the same answer, with a reason. Only a verified approval
prints ``allow``.

Codex has no ``ask``: approval and "let Codex's own approval decide" both
print nothing, and a deny needs a non-empty reason.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from ony.connector import classify
from ony.connector import config as settings
from ony.connector.handoff import APPROVE, ASK, DENY, Outcome, Request, ask, text
from ony.connector.narrate import Narrator

TYPE_CHECKING = False  # typing is not imported at run time: the hook starts on every tool call
if TYPE_CHECKING:
    from typing import IO, Any

AGENTS = {"claude-code": "Claude Code", "codex": "Codex"}
MAX_PAYLOAD_CHARS = 60000


class Answerer:
    """Prints exactly one answer, whichever of the main path and the watchdog comes first."""

    def __init__(self, agent: str, out: IO[str], fail_mode: str = "ask") -> None:
        self.agent = agent
        self.out = out
        self.fail_mode = fail_mode
        self.lock = threading.Lock()
        self.done = False

    def answer(self, decision: str, reason: str) -> bool:
        """Print the answer for ``decision`` (approve, deny or ask); False if already done."""
        with self.lock:
            if self.done:
                return False
            self.done = True
            line = render(self.agent, decision, reason)
            if line is not None:
                self.out.write(line + "\n")
            self.out.flush()
            return True

    def fail(self, reason: str, detail: str) -> bool:
        mode = self.fail_mode
        return self.answer(
            mode, f"ony: no verified approval ({reason}: {detail}); fail mode {mode}"
        )

    def watch(self, seconds: float) -> threading.Timer:
        """At ``seconds`` from now, answer with the fail mode and end the process."""

        def expire() -> None:
            if self.fail("deadline", f"no verified answer within {seconds:.0f} s"):
                os._exit(0)

        timer = threading.Timer(max(0.0, seconds), expire)
        timer.daemon = True
        timer.start()
        return timer


def render(agent: str, decision: str, reason: str) -> str | None:
    """The line the agent reads for ``decision``; ``None`` means print nothing."""
    if agent == "codex":
        if decision != DENY:
            return None  # approve, or defer to Codex's own approval
        reason = reason or "ony: denied"
    permission = {APPROVE: "allow", DENY: "deny", ASK: "ask"}[decision]
    return json.dumps(
        {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": permission,
                "permissionDecisionReason": reason,
            }
        }
    )


def run(
    agent: str,
    stdin: IO[bytes],
    stdout: IO[str],
    directory: str | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Answer one PreToolUse call read from ``stdin``; the exit status is always 0.

    What happens to the request (asked, which channels, nobody callable) goes
    to ``stderr`` (default ``sys.stderr``), which the agents show in their
    verbose modes; the answer goes to ``stdout`` alone.
    """
    started = time.monotonic()
    directory = directory or settings.config_dir()
    answerer = Answerer(agent, stdout)
    timer = answerer.watch(settings.DEFAULT_DEADLINE_SECONDS)
    try:
        config = settings.load(directory)
        answerer.fail_mode = config.fail_mode
        timer.cancel()
        deadline = started + config.deadline_seconds
        timer = answerer.watch(deadline - time.monotonic())
        request = tool_request(agent, stdin.read(), config)
        narrator = Narrator(stderr or sys.stderr)
        outcome = ask(
            config,
            request,
            deadline,
            on_created=narrator.created,
            on_progress=narrator.progress,
        )
        answer(answerer, outcome)
    except settings.ConfigError as exc:
        answerer.fail_mode = fail_mode_hint(directory)
        answerer.fail(exc.reason, str(exc))
    except BadInput as exc:
        answerer.fail("bad_input", str(exc))
    except BaseException as exc:  # any surprise is a "no", never a crash
        answerer.fail("internal_error", f"{type(exc).__name__}: {exc}")
    finally:
        timer.cancel()
    return 0


def answer(answerer: Answerer, outcome: Outcome) -> None:
    where = f" [{outcome.request_id}]" if outcome.request_id else ""
    if outcome.decision in (APPROVE, DENY, ASK):
        answerer.answer(outcome.decision, f"ony: {outcome.detail}{where}")
    else:
        answerer.fail(outcome.reason, outcome.detail + where)


def fail_mode_hint(directory: str) -> str:
    """The configured fail mode, read even from a file that is refused: ``deny`` if it says so."""
    try:
        with open(os.path.join(directory, settings.DEVICE_FILE), "rb") as handle:
            data = json.loads(handle.read(1 << 20))
    except (OSError, ValueError):
        return "ask"
    return "deny" if isinstance(data, dict) and data.get("fail_mode") == "deny" else "ask"


class BadInput(Exception):
    """The hook's stdin is not a PreToolUse call."""


def tool_request(agent: str, raw: bytes, config: settings.Config) -> Request:
    """The handoff to ask for, from the PreToolUse JSON on stdin (``BadInput`` if none)."""
    try:
        return _tool_request(agent, raw, config)
    except RecursionError:  # JSON nested too deeply to read, or to write back as the payload
        raise BadInput("stdin is nested too deeply") from None


def _tool_request(agent: str, raw: bytes, config: settings.Config) -> Request:
    try:
        call = json.loads(raw)
    except ValueError:
        raise BadInput("stdin is not JSON") from None
    if not isinstance(call, dict) or not isinstance(call.get("tool_name"), str):
        raise BadInput("stdin has no tool_name")
    tool_name, tool_input = call["tool_name"], call.get("tool_input")
    cwd = call.get("cwd")
    if not isinstance(cwd, str):
        cwd = ""
    context = classify.Context(
        cwd=cwd if os.path.isabs(cwd) else os.getcwd(),
        config_dir=config.directory,
        protected_branches=config.protected_branches,
    )
    found = classify.classify_tool(tool_name, tool_input, context)
    label = AGENTS[agent]
    session = call.get("session_id")
    session = classify.clean(session, 128) if isinstance(session, str) else ""
    payload = None
    if config.attach_payload:
        payload = text(raw_command(tool_input) or json.dumps(tool_input), MAX_PAYLOAD_CHARS)
    return Request(
        action=found.action,
        target=found.target or "(none)",  # a blank target is refused
        title=classify.clean(f"{label} {tool_name}: {found.action} {found.target}"),
        summary=classify.clean(
            f"{label} wants to use {tool_name} in {os.path.basename(context.cwd)}"
        ),
        payload=payload,
        agent_session_id=session or agent,  # the server needs one: blank is refused
    )


def raw_command(tool_input: Any) -> str | None:
    if isinstance(tool_input, dict) and isinstance(tool_input.get("command"), str):
        return tool_input["command"]
    return None


def main(agent: str) -> int:
    return run(agent, sys.stdin.buffer, sys.stdout)
