"""The handoffs app's refusals, shared by its selectors and services."""

from __future__ import annotations

from ony.refusal import Refusal


class HandoffError(Refusal):
    """A handoff refusal: a stable code, a detail for people, an HTTP status."""


class HandoffNotFound(HandoffError):
    """No such handoff for this caller (another org's and a missing one look the same)."""

    def __init__(self) -> None:
        super().__init__("not_found", "No such handoff.", 404)
