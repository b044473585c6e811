"""Deadlines: each handoff's own expiry task, and a sweep that catches any it missed."""

from celery import shared_task

from handoffs import services


@shared_task(name="handoffs.expire_handoff")
def expire_handoff(handoff_id: int) -> str:
    """Scheduled for a handoff's deadline: expire it if it is still pending then."""
    return services.expire_by_id(handoff_id)


@shared_task(name="handoffs.expire_overdue")
def expire_overdue() -> int:
    """Beat: expire every pending handoff past its deadline (workers may have been down)."""
    return services.expire_overdue()
