"""Chat tasks: each takes ids and calls one service function."""

from celery import shared_task

from chat import services


@shared_task(name="chat.send_messages")
def send_messages(handoff_id: int) -> int:
    """Create the messages about a handoff for whoever is not messaged yet, and send them."""
    return services.send_messages(handoff_id)


@shared_task(name="chat.post_message")
def post_message(message_id: int) -> str:
    """Send one message; temporary failures try again after a delay."""
    return services.post(message_id)


@shared_task(name="chat.close_messages")
def close_messages(handoff_id: int) -> int:
    """Enqueue showing a decided handoff's outcome in each of its messages."""
    return services.close_messages(handoff_id)


@shared_task(name="chat.close_message")
def close_message(message_id: int) -> str:
    """Edit one message to its handoff's outcome, without buttons."""
    return services.close(message_id)
