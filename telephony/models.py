"""Call attempts: one phone call to one approver about one handoff."""

from __future__ import annotations

import secrets
from typing import ClassVar

from django.db import models
from django.utils import timezone

from handoffs.models import Handoff, Status
from ony.models import Membership, Organization, OrgOwned, OrgScopedQuerySet


def attempt_code() -> str:
    """The unguessable code in a call's webhook URLs (192 random bits)."""
    return secrets.token_urlsafe(24)


def step_token() -> str:
    """A fresh token for the next keypad step: a replayed older step carries a stale one."""
    return secrets.token_urlsafe(12)


class CallStatus(models.TextChoices):
    """The provider's call statuses, plus ``created`` and ``error`` (never placed)."""

    CREATED = "created"
    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"
    ERROR = "error"


#: Statuses after which a call is over and nothing more happens on it.
ENDED = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
        CallStatus.FAILED,
        CallStatus.CANCELED,
        CallStatus.ERROR,
    }
)


class Stage(models.TextChoices):
    """Where the approver is in the keypad menu."""

    MENU = "menu"  # 1 approve, 2 deny, * repeat, 9 deny and freeze
    OTP = "otp"  # after 1 on a handoff that needs a TOTP code
    DONE = "done"  # the call said its last words


class Outcome(models.TextChoices):
    """What came of the call, for the team and for escalation."""

    NONE = "", "No decision yet"
    APPROVED = "approved"
    DENIED = "denied"
    FROZEN = "frozen", "Denied and froze the device"
    OTP_FAILED = "otp_failed", "Denied after two wrong codes"
    NO_INPUT = "no_input", "No keypad input"
    MACHINE = "machine", "Answered by a machine"
    TOO_LATE = "too_late", "Already decided or expired"
    NOT_ALLOWED = "not_allowed", "The approver may no longer decide"
    INVALID_NUMBER = "invalid_number", "The provider refused the number"
    TEXTED = "texted", "Number cannot take calls: sent an SMS"
    PROVIDER_ERROR = "provider_error", "The provider failed"


class CallAttemptQuerySet(OrgScopedQuerySet):
    def open(self) -> CallAttemptQuerySet:
        """Attempts whose call has not ended."""
        return self.exclude(status__in=ENDED)

    def keeping_busy(self) -> CallAttemptQuerySet:
        """Open attempts that keep their approver busy: about requests still waiting.

        An attempt left open by a failure (a process that died while placing
        it) must not keep its approver busy for ever.
        """
        return self.open().filter(
            handoff__status=Status.PENDING, handoff__deadline__gt=timezone.now()
        )


class CallAttempt(OrgOwned):
    """One call to ``member`` about ``handoff``; saved before the call is placed.

    ``code`` is the only thing that identifies the attempt in the provider's
    webhooks, and ``step`` changes with every keypad prompt, so a captured
    request replayed later finds a stale step and changes nothing.
    """

    org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="call_attempts")
    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="call_attempts")
    member = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, related_name="call_attempts"
    )
    code = models.CharField(max_length=40, unique=True, default=attempt_code, editable=False)
    round = models.PositiveSmallIntegerField(default=0, help_text="Pass through the on-call list.")
    position = models.PositiveSmallIntegerField(
        default=0, help_text="Index in the on-call list in that pass."
    )
    call_sid = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=CallStatus.choices, default=CallStatus.CREATED)
    answered_by = models.CharField(max_length=24, blank=True)
    stage = models.CharField(max_length=8, choices=Stage.choices, default=Stage.MENU)
    step = models.CharField(max_length=24, default=step_token, editable=False)
    silences = models.PositiveSmallIntegerField(default=0)
    otp_failures = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    provider_tries = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    # A class attribute, as OrgOwned's is (django-stubs); its type is inferred.
    objects: ClassVar = CallAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["handoff", "status"], name="callattempt_handoff_status")]

    def __str__(self) -> str:
        return f"call {self.pk} about {self.handoff_id}"

    @property
    def ended(self) -> bool:
        return self.status in ENDED
