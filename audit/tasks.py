from celery import shared_task

from audit.services import checkpoint_all


@shared_task(name="audit.checkpoint_chains")
def checkpoint_chains() -> int:
    """Beat, every minute: sign the head of each chain that grew."""
    return checkpoint_all()
