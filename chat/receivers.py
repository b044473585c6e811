"""Chat's answers to what handoffs and organizations announce (connected in ``ready()``)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from chat import services
from handoffs import signals
from handoffs.models import Handoff
from ony import signals as org_signals
from ony.models import Membership


@receiver(signals.routed_to_people, sender=Handoff)
def message_with_the_call(sender: type[Handoff], handoff: Handoff, **kwargs: Any) -> None:
    services.on_routed(handoff)


@receiver(signals.people_unreached, sender=Handoff)
def message_when_unreached(sender: type[Handoff], handoff: Handoff, **kwargs: Any) -> None:
    services.on_unreached(handoff)


@receiver(signals.decided, sender=Handoff)
def show_the_outcome(sender: type[Handoff], handoff: Handoff, **kwargs: Any) -> None:
    services.on_decided(handoff)


@receiver(org_signals.member_leaving, sender=Membership)
def forget_the_member(sender: type[Membership], membership: Membership, **kwargs: Any) -> None:
    services.forget_member(membership)
