"""Parts of a handoff's dashboard page that other apps contribute (calls, chat messages).

The handoffs app renders the page but never imports a channel: each channel
registers a section in its ``AppConfig.ready()`` with the template that draws
it and a function giving that template's context for one handoff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string

from handoffs.models import Handoff


@dataclass(frozen=True)
class Section:
    title: str
    template: str
    context: Callable[[Handoff], dict[str, Any]]


SECTIONS: list[Section] = []


def register(section: Section) -> None:
    """Show ``section`` on every handoff page (once, whatever ``ready()`` does)."""
    if all(existing.template != section.template for existing in SECTIONS):
        SECTIONS.append(section)


def for_handoff(handoff: Handoff) -> list[dict[str, Any]]:
    """Each registered section's title and HTML for ``handoff``, in registration order.

    Each template is rendered with its own context only (what its function gives).
    """
    return [
        {"title": s.title, "html": render_to_string(s.template, s.context(handoff))}
        for s in SECTIONS
    ]
