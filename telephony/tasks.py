"""Escalation tasks: each takes ids and calls one service function."""

from celery import shared_task

from telephony import services


@shared_task(name="telephony.call_next")
def call_next(handoff_id: int) -> int | None:
    """Save the next call attempt about a handoff and enqueue its call."""
    attempt = services.call_next(handoff_id)
    return attempt.pk if attempt else None


@shared_task(name="telephony.ring")
def ring(attempt_id: int) -> str:
    """Ask the provider to ring; temporary failures try again after the configured delays."""
    return services.ring(attempt_id)


@shared_task(name="telephony.place_call")
def place_call(attempt_id: int) -> str:
    """The name ``ring`` had before: messages an older version queued (a round's pause, a
    retry's delay) or sends during a rolling deploy still ring. Remove once none can be left."""
    return services.ring(attempt_id)


@shared_task(name="telephony.end_calls")
def end_calls(handoff_id: int) -> int:
    """Hang up the calls still open about a handoff decided elsewhere."""
    return services.end_calls(handoff_id)


@shared_task(name="telephony.resume_escalations")
def resume_escalations() -> int:
    """Beat: start the calls whose own task was lost (the broker was down)."""
    return services.resume_escalations()
