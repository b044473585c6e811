"""Handoffs: creating them, and the one decision each gets.

A handoff leaves ``pending`` exactly once, in ``decide``, under a row lock:
whichever of keypad, dashboard, API, policy, deadline or cancel gets the lock
first decides; the others find it decided. The decision, its audit entry and
its signed verdict commit together.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit import services as audit
from audit.events import SYSTEM, Event
from audit.models import AuditEntry
from devices import services as devices
from devices import verdicts
from devices.models import Device
from handoffs import metrics, selectors, signals, wakeup
from handoffs.errors import HandoffError
from handoffs.models import Handoff, Status
from handoffs.taxonomy import Risk, effective_risk
from ony import ratelimit
from ony.connector.verdict import DECIDED_VIA, format_verdict_time
from ony.models import Membership, TOTPDevice
from ony.models.org import PHONE_ROUTES, Route
from ony.models.totp import CodeCheck
from ony.queue import enqueue
from ony.roles import DECIDE

#: How long a verdict stays valid for the connector after it is issued.
VERDICT_TTL = timedelta(minutes=2)
STATUS_OF = {"approve": Status.APPROVED, "deny": Status.DENIED, "ask": Status.DEFERRED}
EVENT_OF_VIA = {"deadline": Event.HANDOFF_EXPIRED, "cancel": Event.HANDOFF_CANCELLED}
#: The decision an org's policy route makes at once, by route value.
POLICY_DECISION: dict[str, str] = {Route.APPROVE: "approve", Route.ASK: "ask"}


def create(device: Device, **fields: Any) -> tuple[Handoff, bool]:
    """Create a handoff for ``device``, or return the one it already made with this nonce.

    ``fields``: action, target, title, summary, options, payload, risk_hint,
    agent_session_id, nonce (validated by the API). The risk comes from the
    taxonomy and the org's overrides; ``risk_hint`` is stored and never used.
    Where the org's policy decides at once (``approve`` or ``ask``), the
    handoff comes back decided, with its signed verdict. Returns
    ``(handoff, created)``.
    """
    org = device.org
    risk = effective_risk(fields["action"], org.risk_overrides)
    hint = fields.get("risk_hint") or ""
    payload = fields.get("payload")
    handoff = Handoff(
        org=org,
        device=device,
        agent_session_id=fields["agent_session_id"],
        action=fields["action"],
        target=fields["target"],
        risk=risk.label,
        risk_hint=hint,
        hint_mismatch=bool(hint) and Risk.parse(hint) < risk,
        title=fields["title"],
        summary=fields.get("summary") or "",
        options=fields.get("options") or [],
        payload=payload,
        payload_sha256=hashlib.sha256(payload.encode()).hexdigest() if payload else "",
        nonce=fields["nonce"],
        deadline=timezone.now() + timedelta(seconds=org.deadline_seconds(risk.label)),
    )
    created = (Event.HANDOFF_CREATED, device.public_id, handoff.public_id, _created_data(handoff))
    route = org.route(risk.label)
    if route in PHONE_ROUTES and not _within_phone_rate(device):
        existing = _existing(device, fields["nonce"])  # a retry of one it already made
        if existing is None:
            raise HandoffError(
                "throttled", "Too many requests that phone a person from this device.", 429
            )
        return expire_if_due(existing), False
    decision = POLICY_DECISION.get(route)
    try:
        with transaction.atomic():
            if decision:
                _create_decided(handoff, decision, created)
            else:
                handoff.save(force_insert=True)
                audit.append(org, *created)
                enqueue("handoffs.expire_handoff", handoff.pk, eta=handoff.deadline)
                if route in PHONE_ROUTES:
                    signals.routed_to_people.send(sender=Handoff, handoff=handoff)
    except IntegrityError:
        # This device already used this nonce (a retry, or a race): that handoff
        # stands. Inserting and falling back here spares every create a lookup;
        # nothing of this attempt is left (its savepoint rolled back).
        existing = _existing(device, fields["nonce"])
        if existing is None:
            raise
        return expire_if_due(existing), False
    metrics.handoff_created(handoff.risk)
    if decision:
        assert handoff.decided_at is not None  # _create_decided set it
        metrics.handoff_decided(
            handoff.risk, decision, "policy", handoff.created_at, handoff.decided_at
        )
    return handoff, True


def _within_phone_rate(device: Device) -> bool:
    """Count a handoff that would phone a person; whether the device is within its rate.

    The first refusal in each window is audited (``device.throttled``); the
    rest are only refused.
    """
    rate = ratelimit.Rate.parse(settings.ONY_PHONE_HANDOFF_RATE)
    key = f"phone-handoffs:{device.pk}"
    if ratelimit.allow(key, rate):
        return True
    if ratelimit.first_refusal(key, rate):
        data = {"limit": rate.limit, "seconds": rate.seconds}
        with transaction.atomic():
            audit.append(device.org, Event.DEVICE_THROTTLED, SYSTEM, device.public_id, data)
    return False


def _created_data(handoff: Handoff) -> dict[str, Any]:
    data = {
        "action": handoff.action,
        "target": handoff.target,
        "risk": handoff.risk,
        "risk_hint": handoff.risk_hint or None,
        "hint_mismatch": handoff.hint_mismatch,
    }
    if handoff.payload_sha256:
        data["payload_sha256"] = handoff.payload_sha256
    return data


def _create_decided(handoff: Handoff, decision: str, created: audit.Item) -> None:
    """Write a handoff the policy decides at once: decided, signed and audited in one INSERT.

    The same outcome as creating it pending and then ``decide``, in fewer
    statements: both audit entries under one chain lock, and no row lock or
    UPDATE (nothing else can know of the handoff before it commits).
    """
    key = _signing_key(handoff.device)
    now = timezone.now()
    handoff.status = STATUS_OF[decision]
    handoff.decision, handoff.decided_via, handoff.decided_at = decision, "policy", now
    decided = (Event.HANDOFF_DECIDED, SYSTEM, handoff.public_id, _decided_data(decision, "policy"))
    _, entry = audit.append_many(handoff.org, [created, decided])
    handoff.verdict = _signed_verdict(key, handoff, now, entry)
    handoff.save(force_insert=True)


def _signing_key(device: Device) -> bytes | None:
    try:
        return devices.signing_key(device)
    except devices.DeviceError:
        return None  # nothing is signed for a revoked or frozen device


def _decided_data(decision: str, via: str) -> dict[str, str]:
    return {"decision": decision, "decided_via": via}


def _signed_verdict(
    key: bytes | None, handoff: Handoff, now: datetime, entry: AuditEntry
) -> dict[str, Any] | None:
    """The verdict of ``handoff``'s decision, naming the audit ``entry`` that recorded it."""
    if key is None:
        return None
    unsigned = {
        "v": 1,
        "request_id": handoff.public_id,
        "device_id": handoff.device.public_id,
        "agent_session_id": handoff.agent_session_id,
        "action": handoff.action,
        "target": handoff.target,
        "risk": handoff.risk,
        "decision": handoff.decision,
        "decided_via": handoff.decided_via,
        "nonce": handoff.nonce,
        "issued_at": format_verdict_time(now),
        "expires_at": format_verdict_time(now + VERDICT_TTL),
        "audit_seq": entry.seq,
        "audit_hash": entry.hash_hex,
    }
    return verdicts.sign(key, unsigned)


def _existing(device: Device, nonce: str) -> Handoff | None:
    return Handoff.objects.for_org(device.org_id).filter(device=device, nonce=nonce).first()


def _status_for(decision: str, via: str) -> Status:
    if via == "deadline":
        return Status.EXPIRED
    if via == "cancel":
        return Status.CANCELLED
    return STATUS_OF[decision]


def deciding_member(membership_pk: int | None, org_id: int) -> Membership | None:
    """The membership ``membership_pk`` as stored now, if it may decide ``org_id``'s handoffs.

    May decide: a member of that org whose user is active and whose role is
    a deciding one (``DECIDE``). ``None`` for anyone else: removed, in another
    org, deactivated or demoted since the call, message or page began.
    """
    if membership_pk is None:
        return None
    member = (
        Membership.objects.for_org(org_id).select_related("user").filter(pk=membership_pk).first()
    )
    if member is None or member.user is None or not member.user.is_active:
        return None
    if member.role not in DECIDE:
        return None
    return member


def _refuse_decider() -> HandoffError:
    return HandoffError(
        "permission_denied", "You may not decide this organization's handoffs.", 403
    )


@transaction.atomic
def decide(
    handoff: Handoff,
    decision: str,
    *,
    via: str,
    actor: str,
    by: Membership | None = None,
) -> Handoff:
    """Take ``handoff`` out of ``pending`` with ``decision``; ``HandoffError`` if it already left.

    Expiry and cancellation are ``deny`` with ``via`` ``deadline`` or
    ``cancel``. The verdict names the audit entry that recorded the decision;
    a revoked or frozen device gets none. A person deciding (``by``) is
    re-checked here, on every channel, at the moment of the decision
    (``deciding_member``): refused with ``permission_denied`` if they may no
    longer decide.
    """
    if decision not in STATUS_OF or via not in DECIDED_VIA:
        raise ValueError(f"unknown decision {decision!r} or channel {via!r}")
    if via in ("deadline", "cancel") and decision != "deny":
        raise ValueError("expiry and cancellation are signed as deny")
    current = (
        Handoff.objects.select_for_update(of=("self",))
        .select_related("org", "device")
        .get(pk=handoff.pk)
    )
    if by is not None and deciding_member(by.pk, current.org_id) is None:
        raise _refuse_decider()
    if current.status != Status.PENDING:
        raise HandoffError("already_decided", f"This handoff is already {current.status}.", 409)
    key = _signing_key(current.device)
    now = timezone.now()
    current.status = _status_for(decision, via)
    current.decision, current.decided_via, current.decided_by, current.decided_at = (
        decision,
        via,
        by,
        now,
    )
    # From the append to the commit the org's audit chain is locked: only the
    # signature (CPU) and one UPDATE happen in there.
    entry = audit.append(
        current.org,
        EVENT_OF_VIA.get(via, Event.HANDOFF_DECIDED),
        actor,
        current.public_id,
        _decided_data(decision, via),
    )
    current.verdict = _signed_verdict(key, current, now, entry)
    current.save(
        update_fields=["status", "decision", "decided_via", "decided_by", "decided_at", "verdict"]
    )
    request_id = current.public_id
    transaction.on_commit(lambda: wakeup.publish(request_id))
    signals.decided.send(sender=Handoff, handoff=current)
    metrics.handoff_decided(current.risk, decision, via, current.created_at, now)
    return current


def locked_if_waiting(handoff_id: int) -> Handoff | None:
    """Handoff ``handoff_id``, its row locked until the caller's commit, if it still waits
    for a person (pending, before its deadline); else ``None``.

    For the channels' tasks (placing a call, sending chat messages): the lock
    serializes them with a decision about the same handoff. Call inside a
    transaction. A handoff past its deadline is left to the expiry task (or
    the next read) to expire.
    """
    handoff = (
        Handoff.objects.select_for_update(of=("self",))
        .select_related("org")
        .filter(pk=handoff_id)
        .first()
    )
    if handoff is None or handoff.status != Status.PENDING:
        return None
    if handoff.deadline <= timezone.now():
        return None
    return handoff


def expire_if_due(handoff: Handoff) -> Handoff:
    """A pending handoff past its deadline is expired now (every read calls this)."""
    if handoff.status != Status.PENDING or handoff.deadline > timezone.now():
        return handoff
    try:
        return decide(handoff, "deny", via="deadline", actor=SYSTEM)
    except HandoffError:  # decided meanwhile by someone else
        return Handoff.objects.get(pk=handoff.pk)


def cancel(device: Device, handoff: Handoff) -> Handoff:
    """The agent withdraws its own pending handoff: a signed ``deny`` via ``cancel``."""
    handoff = expire_if_due(handoff)
    return decide(handoff, "deny", via="cancel", actor=device.public_id)


def for_device(device: Device, request_id: str) -> Handoff:
    """The device's own handoff ``request_id``, expired if due; ``not_found`` for anything else."""
    return expire_if_due(selectors.device_handoff(device, request_id))


#: The longest a verdict long-poll may wait.
MAX_WAIT_SECONDS = 30


def wait_for_verdict(device: Device, request_id: str, wait: float) -> Handoff:
    """The device's handoff once decided, or still pending after ``wait`` seconds.

    Wakes the moment a decision commits (``handoffs.wakeup``), and no later
    than the handoff's deadline, when it expires. The database connection is
    closed while waiting, so hundreds of waiters hold no connections. A
    device may have ``ONY_MAX_WAITS_PER_DEVICE`` waits at once; one more is
    refused (``too_many_waits``, 429) before it takes a thread.
    """
    handoff = for_device(device, request_id)
    if handoff.status != Status.PENDING or wait <= 0:
        return handoff
    with wakeup.wait_slot(device.pk, settings.ONY_MAX_WAITS_PER_DEVICE) as granted:
        if not granted:
            raise HandoffError(
                "too_many_waits", "This device has too many verdict waits open at once.", 429
            )
        return _wait(device, handoff, request_id, wait)


#: While wake-ups cannot cross processes (Redis is down), how often a waiter
#: looks at the database itself.
RECHECK_SECONDS = 1.0


def _wait(device: Device, handoff: Handoff, request_id: str, wait: float) -> Handoff:
    """Wait for a wake-up, then read the handoff again; until decided or ``wait`` is over.

    A wake-up is a decision (published after its commit), or the process's
    listener losing or regaining Redis: a decision published meanwhile was
    lost, so every wake-up is followed by a read. Without pub/sub, a decision
    in another process would go unheard: the waiter looks every second.
    """
    with wakeup.waiting(handoff.public_id) as woken:
        handoff = for_device(device, request_id)  # registered first: nothing slips by
        until_deadline = (handoff.deadline - timezone.now()).total_seconds()
        ends = time.monotonic() + max(0.0, min(wait, until_deadline + 0.05))
        while handoff.status == Status.PENDING and (left := ends - time.monotonic()) > 0:
            _release_connection()
            woken.wait(left if wakeup.listening() else min(left, RECHECK_SECONDS))
            woken.clear()  # before the read: a wake-up after it is not missed
            handoff = for_device(device, request_id)
    return handoff


def _release_connection() -> None:
    """Give this thread's database connection back while it waits (outside transactions)."""
    if not connection.in_atomic_block:
        connection.close()


def for_member(user: Any, request_id: str) -> Handoff:
    """Handoff ``request_id`` of one of ``user``'s organizations, expired if due; else 404."""
    return expire_if_due(selectors.member_handoff(user, request_id))


def needs_otp(handoff: Handoff) -> bool:
    """Approving a critical handoff, or one the org routes to phone plus TOTP, needs a code."""
    return (
        handoff.risk == Risk.CRITICAL.label or handoff.org.route(handoff.risk) == Route.PHONE_TOTP
    )


#: The channels through which a signed-in person decides (``decide_as_member``).
MEMBER_CHANNELS = frozenset({"api", "dashboard"})
#: The channels through which a person decides as a known member (``decide_by_member``).
PERSON_CHANNELS = MEMBER_CHANNELS | {"slack", "telegram"}


def decide_as_member(
    user: Any, handoff: Handoff, decision: str, otp: str = "", *, via: str = "api"
) -> Handoff:
    """A signed-in person's decision through the API or the dashboard (``via``).

    As ``decide_by_member``, for ``user``'s membership in the handoff's org.
    """
    if via not in MEMBER_CHANNELS:
        raise ValueError(f"a member decides through {sorted(MEMBER_CHANNELS)}, not {via!r}")
    membership = Membership.objects.for_org(handoff.org).filter(user=user).first()
    if membership is None:
        raise _refuse_decider()
    return decide_by_member(membership, handoff, decision, otp, via=via)


def decide_by_member(
    membership: Membership, handoff: Handoff, decision: str, otp: str = "", *, via: str
) -> Handoff:
    """``membership``'s decision about ``handoff`` through ``via`` (``PERSON_CHANNELS``).

    Needs role ``member`` or ``admin`` in the handoff's org and an active
    user (``permission_denied``), a pending handoff (``already_decided``),
    and for an approval that ``needs_otp``, a valid TOTP code of the
    member's own device (``check_decision_code``). A wrong code is audited
    (``otp.failed``) and never approves.
    """
    if via not in PERSON_CHANNELS:
        raise ValueError(f"a person decides through {sorted(PERSON_CHANNELS)}, not {via!r}")
    if (
        membership.org_id != handoff.org_id
        or deciding_member(membership.pk, handoff.org_id) is None
    ):
        raise _refuse_decider()
    handoff = expire_if_due(handoff)
    if handoff.status != Status.PENDING:
        raise HandoffError("already_decided", f"This handoff is already {handoff.status}.", 409)
    if decision == "approve" and needs_otp(handoff):
        check_decision_code(membership, handoff, otp)
    return decide(handoff, decision, via=via, actor=membership.public_id, by=membership)


def check_decision_code(membership: Membership, handoff: Handoff, otp: str) -> None:
    """Accept ``otp`` as ``membership``'s code for deciding ``handoff``, or raise ``HandoffError``.

    ``otp_unavailable`` (no confirmed TOTP device), ``otp_required`` (empty),
    ``otp_throttled`` (too many wrong codes lately; not audited again) or
    ``invalid_otp`` (audited as ``otp.failed``). A code is accepted once.
    """
    device = TOTPDevice.objects.filter(user=membership.user, confirmed=True).first()
    if device is None:
        raise HandoffError("otp_unavailable", "You have no TOTP device to confirm with.", 403)
    if not otp:
        raise HandoffError("otp_required", "Approving this needs your 6-digit TOTP code.", 400)
    check = device.verify_decision_code(otp)
    if check is CodeCheck.THROTTLED:
        raise HandoffError(
            "otp_throttled", "Too many wrong codes: wait a little before the next one.", 429
        )
    if check is not CodeCheck.ACCEPTED:
        with transaction.atomic():  # recorded even though the approval is refused
            audit.append(handoff.org, Event.OTP_FAILED, membership.public_id, handoff.public_id)
        raise HandoffError("invalid_otp", "That TOTP code is not valid.", 403)


def expire_by_id(handoff_id: int) -> str:
    """Expire handoff ``handoff_id`` if it is pending past its deadline; return its status.

    Tasks run without a user or device, so they read across organizations by id.
    """
    handoff = Handoff.objects.filter(pk=handoff_id).first()
    if handoff is None:
        return "gone"
    return expire_if_due(handoff).status


def expire_overdue() -> int:
    """Expire every pending handoff past its deadline, across organizations; return how many."""
    overdue = Handoff.objects.filter(status=Status.PENDING, deadline__lte=timezone.now())
    expired = 0
    for handoff in overdue.iterator():
        if expire_if_due(handoff).status == Status.EXPIRED:
            expired += 1
    return expired
