"""Tell the person watching an agent what happens to its request, on stderr.

``ony request`` and the hooks print a line when the server has the request
and a line for each change in its progress report (``GET
.../progress``): which channels it went to, how many approvers each can
reach, that nobody can be called. Only words for a person: nothing here
decides anything, and a line that cannot be written is dropped.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: the hook starts on every tool call
if TYPE_CHECKING:
    from typing import IO, Any


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def channel_line(report: dict[str, Any]) -> str | None:
    """One channel's report in words; ``None`` for one with nothing to say (done, unknown)."""
    channel, state = report.get("channel"), report.get("state")
    people, contacted = report.get("people"), report.get("contacted")
    if not isinstance(people, int) or not isinstance(contacted, int):
        return None
    if channel == "phone":
        return {
            "calling": f"phone: calling an approver now ({plural(contacted, 'call')} so far; "
            f"{plural(people, 'approver')} can be called)",
            "waiting": f"phone: {plural(people, 'approver')} can be called; "
            f"{plural(contacted, 'call')} so far",
            "nobody": "phone: nobody can be called (no approver on call with a phone number, "
            "or no telephony provider); decide in the dashboard",
        }.get(str(state))
    if channel == "chat":
        return {
            "sent": f"chat: {plural(contacted, 'message')} sent to {plural(people, 'approver')}",
            "waiting": f"chat: {plural(people, 'approver')} will get a message",
            "nobody": "chat: no approver on call has linked a chat account",
        }.get(str(state))
    if channel == "dashboard" and state == "open":
        return "dashboard: open for a decision by any approver of the organization"
    return None


class Narrator:
    """Writes each line once to ``stream``: what was asked, then each new progress line."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.said: dict[str, str] = {}

    def say(self, line: str) -> None:
        try:
            self.stream.write(f"ony: {line}\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed stderr must not cost the agent its answer
            pass

    def created(self, handoff: dict[str, Any]) -> None:
        """As soon as the server has the request: what it is and what happens next."""
        risk, request_id = handoff.get("risk"), handoff.get("request_id")
        if handoff.get("verdict") is not None:
            self.say(f"{request_id} (risk {risk}) was decided at once by the policy")
            return
        self.say(
            f"asked for {request_id} (risk {risk}); waiting for a person's decision "
            f"until {handoff.get('expires_at')} at the latest"
        )

    def progress(self, report: dict[str, Any]) -> None:
        """Each channel's line, when it differs from the last one said for that channel."""
        channels = report.get("channels")
        for channel in channels if isinstance(channels, list) else []:
            if not isinstance(channel, dict):
                continue
            line = channel_line(channel)
            name = str(channel.get("channel"))
            if line is not None and self.said.get(name) != line:
                self.said[name] = line
                self.say(line)
