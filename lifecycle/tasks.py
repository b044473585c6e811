"""Retention, daily from beat (and from the server in the embedded mode)."""

from celery import shared_task

from lifecycle import retention


@shared_task(name="lifecycle.apply_retention")
def apply_retention() -> dict[str, list[int]]:
    """Beat, daily: scrub and prune what each organization's retention says is due.

    Returns, by org slug, [payloads scrubbed, call attempts pruned, chat messages pruned].
    """
    return {
        slug: [counts.payloads, counts.call_attempts, counts.chat_messages]
        for slug, counts in retention.apply_all().items()
    }
