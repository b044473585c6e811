"""Retention, daily from beat (and from the server in the embedded mode)."""

from celery import shared_task

from lifecycle import retention


@shared_task(name="lifecycle.apply_retention")
def apply_retention() -> dict[str, int]:
    """Beat, daily: scrub and prune what each organization's retention says is due."""
    return {slug: counts.payloads for slug, counts in retention.apply_all().items()}
