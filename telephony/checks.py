"""A server that routes handoffs to the phone must be able to phone (``telephony.E001``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.db import DatabaseError

from ony.models import Organization
from telephony.conf import provider


def orgs_routing_to_phone() -> list[str]:
    """Slugs of (up to five) organizations that phone approvers: every one, since the
    policy floor routes critical handoffs to the phone whatever an org stores."""
    return list(Organization.objects.values_list("slug", flat=True)[:5])


@register("telephony")
def check_provider(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """Run with a database (``migrate``, ``check --database default``, gunicorn's start-up)."""
    current = provider()
    if current is not None:
        if current.kind == "simulator" and not settings.DEBUG:
            return [
                Warning(
                    "The telephony simulator answers Ony's calls: nobody's phone rings.",
                    hint="Fine for a demo, with one web process (WEB_CONCURRENCY=1 for "
                    "gunicorn): the simulated calls live in that process's memory. Set "
                    "SIGNALWIRE_* for real calls (docs/telephony.md).",
                    id="telephony.W001",
                )
            ]
        return []
    if settings.DEBUG or not databases:
        return []
    try:
        slugs = orgs_routing_to_phone()
    except DatabaseError:  # not migrated yet
        return []
    if not slugs:
        return []
    return [
        Error(
            f"Organizations route handoffs to the phone (critical ones always) but no "
            f"telephony provider is set: "
            f"{', '.join(slugs)}.",
            hint="Set SIGNALWIRE_PROJECT, SIGNALWIRE_TOKEN, SIGNALWIRE_SPACE, "
            "SIGNALWIRE_SIGNING_KEY and SIGNALWIRE_FROM_NUMBER (docs/telephony.md), "
            "or run the simulator for a demo (ONY_TELEPHONY_SIMULATOR=1, with "
            "WEB_CONCURRENCY=1 under gunicorn).",
            id="telephony.E001",
        )
    ]
