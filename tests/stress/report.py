"""A stress run's faults, as they happened, and its report (no Django here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: A 5xx or a slow wake-up this long after a fault that explains it still counts as explained.
GRACE_SECONDS = 5.0


@dataclass
class Fault:
    name: str
    started: float
    ended: float

    def covers(self, moment: float, grace: float = GRACE_SECONDS) -> bool:
        return self.started - 1 <= moment <= self.ended + grace


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def check(self, name: str, failures: list[str], detail: str = "") -> None:
        mark = "ok  " if not failures else "FAIL"
        self.lines.append(f"{mark} {name}{': ' + detail if detail else ''}")
        for failure in failures[:10]:
            self.lines.append(f"       {failure}")
        if len(failures) > 10:
            self.lines.append(f"       ... and {len(failures) - 10} more")
        self.failures.extend(f"{name}: {f}" for f in failures)
