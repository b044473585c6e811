"""Chat messages about handoffs, and the one-time codes that link a member's chat account."""

from __future__ import annotations

import secrets
from typing import ClassVar

from django.db import models
from django.utils import timezone

from handoffs.models import Handoff
from ony.models import Membership, Organization, OrgOwned, OrgScopedQuerySet
from ony.models.invitations import OneTimeToken


class Service(models.TextChoices):
    SLACK = "slack", "Slack"
    TELEGRAM = "telegram", "Telegram"


def message_code() -> str:
    """The unguessable code a message's buttons carry (128 random bits, 22 characters).

    Telegram allows 64 bytes of callback data; ``a:`` plus this fits.
    """
    return secrets.token_urlsafe(16)


class MessageStatus(models.TextChoices):
    CREATED = "created", "Not sent yet"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent, waiting"
    CLOSED = "closed", "Shows the outcome"
    SKIPPED = "skipped", "Not sent: decided first"
    FAILED = "failed", "Could not be sent"


class ChatMessageQuerySet(OrgScopedQuerySet):
    def for_handoff(self, handoff: Handoff) -> ChatMessageQuerySet:
        return self.for_org(handoff.org_id).filter(handoff=handoff)


class ChatMessage(OrgOwned):
    """One message to one member, on one service, about one handoff.

    ``code`` is what its buttons (and a Slack code dialog) carry back: the
    only thing an interaction names. ``recipient`` is the chat user it was
    sent to; only that user's clicks count. Chat ids never leave this table
    and the membership (not in the audit chain, not in logs).
    """

    org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="chat_messages")
    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="chat_messages")
    member = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, related_name="chat_messages"
    )
    service = models.CharField(max_length=10, choices=Service.choices)
    code = models.CharField(max_length=32, unique=True, default=message_code, editable=False)
    recipient = models.CharField(max_length=32, help_text="The chat user id it was sent to.")
    channel = models.CharField(
        max_length=32, blank=True, help_text="Slack channel or Telegram chat."
    )
    message_ref = models.CharField(
        max_length=32, blank=True, help_text="Slack message ts or Telegram message id."
    )
    prompt_ref = models.CharField(
        max_length=32, blank=True, help_text="Telegram: the message asking for a code."
    )
    status = models.CharField(
        max_length=8, choices=MessageStatus.choices, default=MessageStatus.CREATED
    )
    tries = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # A class attribute, as OrgOwned's is (django-stubs); its type is inferred.
    objects: ClassVar = ChatMessageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["handoff", "member", "service"], name="chatmessage_once_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} message about {self.handoff_id}"


class ChatLink(OneTimeToken):
    """A member's pending link of their own chat account.

    Telegram: the token is the deep link's ``/start`` parameter, and the
    account is whoever sends it to the bot. Slack: the member names their
    user id (``candidate``), the token is the code Ony sent there, and the
    member types it back.
    """

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="chat_links")
    member = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="chat_links")
    service = models.CharField(max_length=10, choices=Service.choices)
    candidate = models.CharField(max_length=32, blank=True)
    failures = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta(OneTimeToken.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.service} link for {self.member_id}"

    @property
    def usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()
