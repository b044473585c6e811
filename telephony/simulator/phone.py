"""The phone side of the simulator as HTTP actions, shared by both hosts (Ony and standalone)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ony.phone import mask_phone
from telephony.simulator.core import Call, Simulator, SimulatorError

ANSWERS = ("human", "machine_start", "fax")


def calls(simulator: Simulator, shows: Callable[[Call], bool] | None) -> list[dict[str, Any]]:
    """The calls ``shows`` lets through (all calls for ``None``), newest first, numbers masked."""
    shown = [c for c in simulator.calls.values() if shows is None or shows(c)]
    return [_masked(c) for c in sorted(shown, key=lambda c: c.created, reverse=True)]


def _masked(call: Call) -> dict[str, Any]:
    body = call.as_dict()
    body["to"], body["from"] = mask_phone(call.to), mask_phone(call.from_)
    return body


def act(simulator: Simulator, sid: str, action: str, form: dict[str, str]) -> dict[str, Any]:
    """Do ``action`` on call ``sid``; ``SimulatorError`` when the call cannot do it now."""
    handlers: dict[str, Callable[[], Call]] = {
        "answer": lambda: simulator.answer(sid, _answered_by(form.get("answered_by", "human"))),
        "press": lambda: simulator.press(sid, _keys(form.get("keys", ""))),
        "silence": lambda: simulator.silence(sid),
        "decline": lambda: simulator.decline(sid),
        "no-answer": lambda: simulator.no_answer(sid),
        "hang-up": lambda: simulator.hang_up(sid),
    }
    if action not in handlers:
        raise SimulatorError("unknown action")
    return _masked(handlers[action]())


def _answered_by(value: str) -> str:
    if value not in ANSWERS:
        raise SimulatorError("answered_by is human, machine_start or fax")
    return value


def _keys(value: str) -> str:
    if not value or len(value) > 12 or any(k not in "0123456789*#" for k in value):
        raise SimulatorError("keys are up to 12 of 0-9, * and #")
    return value
