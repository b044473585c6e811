"""Telephony's answers to what the handoffs app announces (connected in ``ready()``)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from handoffs import signals
from handoffs.models import Handoff
from ony.models.org import PHONE_ROUTES
from telephony import services

#: Channels whose decision needs no hang-up from here: a keypad decision ends
#: its own call (``telephony.ivr``). The policy decides only as a handoff is
#: created, before any call, and sends no signal; it is listed to be safe.
NO_HANG_UP_AFTER = frozenset({"policy", "ivr"})


@receiver(signals.routed_to_people, sender=Handoff)
def phone_the_approvers(sender: type[Handoff], handoff: Handoff, **kwargs: Any) -> None:
    services.start_calling(handoff)


@receiver(signals.decided, sender=Handoff)
def hang_up_after_decision(sender: type[Handoff], handoff: Handoff, **kwargs: Any) -> None:
    """A decision made elsewhere (dashboard, API, deadline, cancel) ends calls still ringing."""
    if handoff.decided_via in NO_HANG_UP_AFTER:
        return
    if handoff.org.route(handoff.risk) in PHONE_ROUTES:
        services.after_decision(handoff)
