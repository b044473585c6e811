"""Where a handoff waiting for a person stands on each channel, for the agent that waits.

``GET /api/v1/handoffs/{request_id}/progress`` answers with one report per
channel the handoff went to: the phone and chat register theirs in their
``AppConfig.ready()`` (the handoffs app never imports a channel), and the
dashboard, where any member who may decide can always decide, comes last.

A report is ``{"channel", "state", "people", "contacted"}``: ``state`` a
stable code, ``people`` how many approvers the channel can reach,
``contacted`` how many calls or messages went out so far. Reports name
nobody: the agent learns how far its request got, never who decides.
It is informational only: the verdict, and only the verdict, decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from handoffs.models import Handoff, Status


class Reach(NamedTuple):
    """Where a handoff stands on one channel: ``state`` and two counts."""

    state: str
    people: int = 0
    contacted: int = 0


#: Channel states: reaching people now, between attempts, nobody to reach,
#: done (decided or past the deadline), open for a decision (the dashboard).
CALLING, SENT, WAITING, NOBODY, DONE, OPEN = (
    "calling",
    "sent",
    "waiting",
    "nobody",
    "done",
    "open",
)
STATES = (CALLING, SENT, WAITING, NOBODY, DONE, OPEN)


@dataclass(frozen=True)
class Channel:
    name: str
    #: Where a handoff stands on the channel; ``None`` when the handoff does not use it.
    reach: Callable[[Handoff], Reach | None]


CHANNELS: list[Channel] = []


def register(channel: Channel) -> None:
    """Report on ``channel`` for every handoff (once, whatever ``ready()`` does)."""
    if all(existing.name != channel.name for existing in CHANNELS):
        CHANNELS.append(channel)


def _report(channel: str, reach: Reach) -> dict[str, Any]:
    return {"channel": channel, **reach._asdict()}


def for_handoff(handoff: Handoff) -> dict[str, Any]:
    """The handoff's progress: its status and each channel's report, in registration order.

    A handoff the policy decided went to nobody: no channel reports on it.
    """
    channels: list[dict[str, Any]] = []
    if handoff.decided_via != "policy":
        for channel in CHANNELS:
            if (reach := channel.reach(handoff)) is not None:
                channels.append(_report(channel.name, reach))
        # Anyone who may decide can, in the dashboard: no count to give.
        channels.append(
            _report("dashboard", Reach(OPEN if handoff.status == Status.PENDING else DONE))
        )
    return {"request_id": handoff.public_id, "status": handoff.status, "channels": channels}
