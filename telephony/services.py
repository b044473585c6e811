"""Escalation: who is phoned next about a handoff, and what happens when a call ends.

A handoff routed to the phone calls the org's on-call members in order, one
call at a time. A call that ends busy, unanswered, failed, canceled,
answered by a machine, or completed without a decision goes to the next
member; the list repeats (after ``ONY_CALL_ROUND_PAUSE``) until the handoff
is decided or its deadline passes. What the approver does on the keypad is
``telephony.ivr``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit import services as audit
from audit.events import SYSTEM, Event
from handoffs import selectors as handoff_selectors
from handoffs import services as handoffs
from handoffs import signals
from handoffs.models import Handoff, Status
from handoffs.taxonomy import Risk
from ony import services as org_services
from ony.models import Membership, Organization
from ony.models.org import PHONE_ROUTES
from ony.queue import enqueue
from ony.refusal import Refusal
from telephony import client, metrics, voice
from telephony.conf import provider
from telephony.models import ENDED, CallAttempt, CallStatus, Outcome, Stage
from telephony.selectors import approvers

logger = logging.getLogger(__name__)

#: A call's statuses before it ends, in the order a call goes through them.
LIVE_ORDER: list[str] = [
    CallStatus.CREATED,
    CallStatus.QUEUED,
    CallStatus.INITIATED,
    CallStatus.RINGING,
    CallStatus.IN_PROGRESS,
]

#: Keypad outcomes that decided the handoff: no escalation after them.
DECIDED_OUTCOMES = frozenset({Outcome.APPROVED, Outcome.DENIED, Outcome.FROZEN, Outcome.OTP_FAILED})


class TelephonyError(Refusal):
    """A webhook refusal (unknown call, stale step)."""


def start_calling(handoff: Handoff) -> None:
    """Phone the on-call approvers about ``handoff`` once it is committed.

    With no provider nobody can be phoned, which the other channels hear at
    once (``people_unreached``).
    """
    if provider() is None:
        logger.warning("handoff %s routes to the phone but no provider is set", handoff.public_id)
        signals.people_unreached.send(sender=Handoff, handoff=handoff)
        return
    enqueue("telephony.call_next", handoff.pk)


#: How long a handoff routed to the phone may wait for its first call attempt
#: before the sweep starts the escalation itself (its own task was lost).
UNSTARTED_AFTER = timedelta(seconds=10)


def resume_escalations() -> int:
    """Start the calls about handoffs whose first call was never placed; how many.

    Beat, every 10 seconds: a pending handoff routed to the phone, within its
    deadline, with no call attempt at all ``UNSTARTED_AFTER`` after it was
    created lost the task that starts its calls (the broker was down when it
    committed). ``call_next`` locks the handoff and is a no-op for one that
    has begun meanwhile, so the sweep cannot ring twice. Across organizations
    on purpose: it is the installation's housekeeping.
    """
    if provider() is None:
        return 0
    now = timezone.now()
    unstarted = (
        Handoff.objects.filter(
            status=Status.PENDING, deadline__gt=now, created_at__lt=now - UNSTARTED_AFTER
        )
        .exclude(call_attempts__isnull=False)
        .select_related("org")
    )
    started = 0
    for handoff in unstarted.iterator():
        if handoff.org.route(handoff.risk) in PHONE_ROUTES and call_next(handoff.pk) is not None:
            started += 1
    return started


def after_decision(handoff: Handoff) -> None:
    """Hang up the calls still ringing about ``handoff`` once its decision is committed."""
    if provider() is None:
        return
    enqueue("telephony.end_calls", handoff.pk)


class Slot(NamedTuple):
    round: int
    position: int


def next_slot(last: CallAttempt | None, count: int) -> Slot:
    """Where the escalation goes after ``last``, in a list of ``count`` approvers."""
    if last is None:
        return Slot(0, 0)
    if last.position + 1 < count:
        return Slot(last.round, last.position + 1)
    return Slot(last.round + 1, 0)


def call_next(handoff_id: int) -> CallAttempt | None:
    """Save the attempt for the next approver and enqueue the call; ``None`` if nobody is due.

    Nobody is due when the handoff is decided or past its deadline, a call
    about it is still open, or the org has no callable approver. An approver
    gets one call at a time: one who is on (or being rung for) another call is
    passed over for the next in this round who is free; when none is, the
    handoff waits in line, and the end of a call wakes it (``finish``).
    Starting a second round, or finding nobody to call, announces
    ``people_unreached`` (chat may wait for it).
    """
    with transaction.atomic():
        handoff = handoffs.locked_if_waiting(handoff_id)
        if handoff is None:
            return None
        # The chain before the approvers' rows (``_on_another_call``), as member
        # changes take them: the handoff, the chain, then rows, like ``decide``.
        audit.hold_chain(handoff.org_id)
        attempts = CallAttempt.objects.for_org(handoff.org_id).filter(handoff=handoff)
        if attempts.open().exists():
            return None
        people = approvers(handoff.org_id)
        if not people:
            logger.warning("handoff %s: nobody on call can be phoned", handoff.public_id)
            signals.people_unreached.send(sender=Handoff, handoff=handoff)
            return None
        last = attempts.order_by("-pk").first()
        slot = _first_free(people, next_slot(last, len(people)))
        if slot is None:
            return None  # everyone due is on a call: wait in line
        if last is not None and slot.round > last.round:
            signals.people_unreached.send(sender=Handoff, handoff=handoff)
        member = people[slot.position]
        attempt = CallAttempt.objects.create(
            org=handoff.org,
            handoff=handoff,
            member=member,
            round=slot.round,
            position=slot.position,
        )
        audit.append(
            handoff.org,
            Event.CALL_PLACED,
            SYSTEM,
            handoff.public_id,
            {"member": member.public_id, "round": slot.round, "position": slot.position},
        )
        pause = settings.ONY_CALL_ROUND_PAUSE if slot.round and not slot.position else 0
        enqueue("telephony.ring", attempt.pk, countdown=pause)
    return attempt


def _first_free(people: list[Membership], slot: Slot) -> Slot | None:
    """``slot``, or the first later one of its round whose approver is not on a call."""
    for position in range(slot.position, len(people)):
        if not _on_another_call(people[position]):
            return Slot(slot.round, position)
    return None


def _on_another_call(member: Membership) -> bool:
    """Whether the person or the number of ``member`` has a call open, in any organization.

    One person may belong to several organizations, and one phone may be
    shared: a second call would ring a line that is already talking (and
    press its approver from two sides). The membership rows of that person
    and that number are locked until the caller's commit, which serializes
    every escalation that would ring them, so that two cannot both find
    them free (``keeping_busy`` says which open calls count). This is the
    one query that crosses organizations on purpose; it only answers yes
    or no.
    """
    same_line = Q(user_id=member.user_id)
    if member.phone:
        same_line |= Q(phone=member.phone)
    # FOR NO KEY UPDATE: it serializes escalations against each other, but lets a
    # transaction that holds the chain lock take its foreign-key checks on these
    # rows at commit (Django's are deferred); FOR UPDATE waited for them there,
    # while this transaction waited for the chain lock: a deadlock.
    locked = (
        Membership.objects.select_for_update(of=("self",), no_key=True)
        .filter(same_line)
        .order_by("pk")
    )
    line_ids = list(locked.values_list("pk", flat=True))
    return CallAttempt.objects.filter(member_id__in=line_ids).keeping_busy().exists()


def ring(attempt_id: int) -> str:
    """Ask the provider to ring the attempt's member; the outcome of asking, as a word.

    A temporary provider failure enqueues the next try after the configured
    delay while tries are left (a new task, not a Celery retry, so that the
    embedded mode's in-process tasks never raise into a request). A number
    the provider calls invalid is flagged and skipped; one it may not call
    gets a text message with a dashboard link instead.
    """
    attempt = (
        CallAttempt.objects.select_related("handoff", "member", "org").filter(pk=attempt_id).first()
    )
    if attempt is None or attempt.status != CallStatus.CREATED:
        return "skipped"
    handoff = handoffs.expire_if_due(attempt.handoff)
    member = attempt.member
    if handoff.status != Status.PENDING or member is None or not member.callable:
        finish(attempt, CallStatus.CANCELED, Outcome.TOO_LATE)
        return "too late"
    try:
        sid = client.create_call(
            member.phone,
            url=voice.webhook_url("answer", attempt),
            status_callback=voice.webhook_url("status", attempt),
            ring_seconds=settings.ONY_CALL_RING_SECONDS,
        )
    except client.TemporaryError as exc:
        return _retry_or_give_up(attempt, exc)
    except client.InvalidNumber:
        org_services.flag_phone_invalid(member, actor=SYSTEM)
        logger.warning("the provider refused %s's number as invalid", member.public_id)
        finish(attempt, CallStatus.ERROR, Outcome.INVALID_NUMBER)
        return "invalid number"
    except client.CannotCall:
        text_dashboard_link(attempt, member)
        finish(attempt, CallStatus.ERROR, Outcome.TEXTED)
        return "texted"
    except client.ProviderError as exc:
        logger.error("the provider refused the call for %s: %s", member.public_id, exc)
        finish(attempt, CallStatus.ERROR, Outcome.PROVIDER_ERROR)
        return "provider error"
    CallAttempt.objects.filter(pk=attempt.pk).update(call_sid=sid)
    CallAttempt.objects.filter(pk=attempt.pk, status=CallStatus.CREATED).update(
        status=CallStatus.QUEUED
    )
    return "placed"


def _retry_or_give_up(attempt: CallAttempt, exc: Exception) -> str:
    tries = attempt.provider_tries + 1
    CallAttempt.objects.filter(pk=attempt.pk).update(provider_tries=tries)
    delays = settings.ONY_CALL_RETRY_DELAYS
    if tries <= len(delays):
        logger.warning("placing call %s failed (%s); retry %d", attempt.pk, exc, tries)
        enqueue("telephony.ring", attempt.pk, countdown=delays[tries - 1])
        return "retrying"
    logger.error("placing call %s failed %d times; next approver", attempt.pk, tries)
    finish(attempt, CallStatus.ERROR, Outcome.PROVIDER_ERROR)
    return "provider error"


def text_dashboard_link(attempt: CallAttempt, member: Membership) -> None:
    """Text ``member`` (the attempt's) a dashboard link (best effort: escalation goes on)."""
    handoff = attempt.handoff
    body = (
        f"Ony: {handoff.risk} risk request {handoff.public_id} waits for a decision. "
        f"Decide in the dashboard: {handoff_selectors.page_url(handoff)}"
    )
    try:
        client.send_sms(member.phone, body)
    except client.ProviderError as exc:
        logger.error("could not text %s: %s", member.public_id, exc)


@transaction.atomic
def finish(attempt: CallAttempt, status: str, outcome: str = "") -> CallAttempt:
    """End ``attempt`` once (audited); escalate unless the call decided the handoff.

    The approver is free again: handoffs waiting in line for them are woken.
    """
    current = (
        CallAttempt.objects.select_for_update(of=("self",))
        .select_related("handoff", "org")
        .get(pk=attempt.pk)
    )
    if current.ended:
        return current
    current.status = status
    current.outcome = current.outcome or outcome
    current.ended_at = timezone.now()
    current.stage = Stage.DONE
    current.save(update_fields=["status", "outcome", "ended_at", "stage"])
    audit.append(
        current.org,
        Event.CALL_STATUS,
        SYSTEM,
        current.handoff.public_id,
        {"status": status, "outcome": current.outcome or None},
    )
    metrics.call_ended(status, current.outcome)
    if current.outcome not in DECIDED_OUTCOMES:
        enqueue("telephony.call_next", current.handoff_id)
    for handoff_id in waiting_in_line(current.org_id, but=current.handoff_id):
        enqueue("telephony.call_next", handoff_id)
    return current


#: The most handoffs one ended call wakes at once (the rest wake at the next).
WAKE_AT_MOST = 20


def waiting_in_line(org_id: int, *, but: int) -> list[int]:
    """Ids of the org's pending handoffs that wait for an approver, oldest first.

    They are routed to the phone, before their deadline, with no call open:
    each ``call_next`` rings the approver due if they are free, and leaves
    the others waiting.
    """
    org = Organization.objects.get(pk=org_id)
    phoned = [risk.label for risk in Risk if org.route(risk.label) in PHONE_ROUTES]
    open_calls = CallAttempt.objects.for_org(org_id).open().values("handoff_id")
    waiting = (
        Handoff.objects.for_org(org_id)
        .filter(status=Status.PENDING, deadline__gt=timezone.now(), risk__in=phoned)
        .exclude(pk__in=open_calls)
        .exclude(pk=but)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    return list(waiting[:WAKE_AT_MOST])


def end_calls(handoff_id: int) -> int:
    """Hang up every open call about a decided handoff; returns how many were open."""
    handoff = Handoff.objects.filter(pk=handoff_id).first()
    if handoff is None or handoff.status == Status.PENDING:
        return 0
    open_attempts = list(CallAttempt.objects.for_org(handoff.org_id).filter(handoff=handoff).open())
    for attempt in open_attempts:
        if attempt.call_sid:
            try:
                client.end_call(attempt.call_sid, answered=attempt.status == CallStatus.IN_PROGRESS)
            except client.ProviderError as exc:
                # The provider ends it when the approver hangs up; the keypad finds it decided.
                logger.warning("could not end call %s: %s", attempt.pk, exc)
        else:
            finish(attempt, CallStatus.CANCELED, Outcome.TOO_LATE)
    return len(open_attempts)


def record_status(code: str, params: Mapping[str, str]) -> CallAttempt:
    """A status callback: the call's final status; escalate if it decided nothing."""
    status = params.get("CallStatus", "")
    if status not in CallStatus.values or status in (CallStatus.CREATED, CallStatus.ERROR):
        raise TelephonyError("invalid_status", "Unknown CallStatus.", 400)
    with transaction.atomic():
        attempt = locked_attempt(code)
        if attempt.ended:
            return attempt  # a repeated or late callback changes nothing
        if params.get("AnsweredBy"):
            attempt.answered_by = params["AnsweredBy"][:24]
        if status not in ENDED:  # queued, initiated, ringing, in-progress
            # Forward only: a late or replayed "ringing" must not turn a live call
            # back into one that was never answered (whose answer restarts the menu).
            if LIVE_ORDER.index(status) > LIVE_ORDER.index(attempt.status):
                attempt.status = status
            attempt.save(update_fields=["status", "answered_by"])
            return attempt
        attempt.save(update_fields=["answered_by"])
        return finish(attempt, status)


def locked_attempt(code: str) -> CallAttempt:
    """The attempt with ``code``, locked. Webhooks carry no org: the code is the capability."""
    attempt = (
        CallAttempt.objects.select_for_update(of=("self",))
        .select_related("handoff", "handoff__device", "handoff__org", "member", "member__user")
        .filter(code=code)
        .first()
    )
    if attempt is None:
        raise TelephonyError("not_found", "No such call.", 404)
    return attempt
