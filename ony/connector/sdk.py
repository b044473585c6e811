"""The Python SDK for custom agents: ask Ony before doing something risky.

::

    from ony.connector.sdk import Ony, NotApproved

    ony = Ony.from_config()
    ony.require("deploy.production", "prod-api", title="Deploy v1.4.2")  # raises unless approved
    deploy()

    @ony.guard("db.migrate", target="prod-db", title="Run the migrations")
    def migrate(): ...

``require`` returns only after a verified approval; on a denial, a deferral,
the deadline or any error it raises ``NotApproved``, whose ``outcome`` says
which.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ony.connector import config as settings
from ony.connector.handoff import (
    CANCEL_RESERVE_SECONDS,
    MAX_PAYLOAD_CHARS,
    Outcome,
    Request,
    ask,
    text,
)

F = TypeVar("F", bound=Callable[..., Any])


class NotApproved(Exception):
    """The action was not approved; ``outcome.decision`` is deny, ask, timeout or error."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"Ony did not approve: {outcome.reason} ({outcome.detail})")
        self.outcome = outcome


class Ony:
    def __init__(self, config: settings.Config, session: str = "sdk") -> None:
        self.config = config
        self.session = session

    @classmethod
    def from_config(
        cls, directory: str | os.PathLike[str] | None = None, session: str = "sdk"
    ) -> Ony:
        """The device enrolled with ``ony enroll`` (``ConfigError`` if none, or unsafe)."""
        return cls(settings.load(directory or None), session)

    def request(
        self,
        action: str,
        target: str,
        *,
        title: str,
        summary: str = "",
        payload: str | None = None,
        wait: float | None = None,
        on_created: Callable[[dict[str, Any]], None] | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> Outcome:
        """Ask and wait up to ``wait`` seconds (default: the configured deadline). Never raises.

        With ``wait`` the answer is waited for that long, and the request then
        withdrawn (which takes a moment more); ``on_created`` and
        ``on_progress`` as in ``ask``.
        """
        seconds = self.config.deadline_seconds if wait is None else wait + CANCEL_RESERVE_SECONDS
        request = Request(
            action=action,
            target=target,
            title=title,
            summary=summary,
            payload=None if payload is None else text(payload, MAX_PAYLOAD_CHARS),
            agent_session_id=self.session,
        )
        return ask(
            self.config,
            request,
            time.monotonic() + seconds,
            on_created=on_created,
            on_progress=on_progress,
        )

    def require(self, action: str, target: str, **kwargs: Any) -> Outcome:
        """Like ``request``, but raises ``NotApproved`` unless the answer is a verified approval."""
        outcome = self.request(action, target, **kwargs)
        if not outcome.approved:
            raise NotApproved(outcome)
        return outcome

    def guard(self, action: str, *, target: str, title: str | None = None) -> Callable[[F], F]:
        """Decorate a function so that each call first needs Ony's approval."""

        def decorate(function: F) -> F:
            @functools.wraps(function)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                self.require(action, target, title=title or f"Call {function.__qualname__}")
                return function(*args, **kwargs)

            # wraps() keeps the signature at run time; mypy cannot see that guarded is an F.
            return guarded  # type: ignore[return-value]

        return decorate
