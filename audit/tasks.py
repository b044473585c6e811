from celery import shared_task

from audit.services import checkpoint_all
from audit.verification import verify_all


@shared_task(name="audit.checkpoint_chains")
def checkpoint_chains() -> int:
    """Beat, every minute: sign the head of each chain that grew."""
    return checkpoint_all()


@shared_task(name="audit.verify_chains")
def verify_chains() -> int:
    """Beat, hourly: verify every chain, so the dashboard says when each last verified."""
    return verify_all()
