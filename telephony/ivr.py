"""The keypad: what the approver hears and what each key does, one webhook at a time.

The approver is the member who was called. Their decision goes through
``handoffs.services.decide`` like the dashboard's and the API's, so races,
audit and signed verdicts are the same whoever decides. Every step locks the
attempt row first and the handoff second, and answers with the next cXML
document.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from audit import services as audit
from audit.events import Event
from devices import services as devices
from handoffs import services as handoffs
from handoffs.models import Handoff, Status
from ony.models import Membership, TOTPDevice
from ony.models.totp import CodeCheck
from telephony import voice
from telephony.models import CallAttempt, CallStatus, Outcome, Stage, step_token
from telephony.services import TelephonyError, locked_attempt

#: ``AnsweredBy`` values that mean nobody is listening.
MACHINE_ANSWERS = ("machine", "fax")
MAX_SILENCES = 2
MAX_OTP_FAILURES = 2


def _locked_step(code: str, step: str) -> CallAttempt:
    attempt = locked_attempt(code)
    if not step or step != attempt.step or attempt.ended or attempt.stage == Stage.DONE:
        raise TelephonyError("stale_step", "This keypad step is over.", 403)
    return attempt


def _next_step(attempt: CallAttempt, **fields: object) -> None:
    """Save ``fields`` with a fresh step token: the previous prompt's URLs stop working."""
    for name, value in fields.items():
        setattr(attempt, name, value)
    attempt.step = step_token()
    attempt.save(update_fields=["step", *fields])


def _done(attempt: CallAttempt, words: str, outcome: str = "", **fields: object) -> str:
    """Say ``words`` and hang up; no step of this call is accepted after this."""
    _next_step(attempt, stage=Stage.DONE, outcome=outcome or attempt.outcome, **fields)
    return voice.goodbye(words)


def _still_pending(attempt: CallAttempt) -> Handoff:
    handoff = handoffs.expire_if_due(attempt.handoff)
    attempt.handoff = handoff
    return handoff


@transaction.atomic
def answer(code: str, params: Mapping[str, str]) -> str:
    """The call was answered: read the request and the menu (or hang up on a machine).

    Idempotent for a live call: a repeated answer webhook (a replay, or the
    provider trying again) hears the current prompt, with the current step,
    and changes nothing.
    """
    attempt = locked_attempt(code)
    if attempt.ended or attempt.stage == Stage.DONE:
        return voice.hang_up()
    if attempt.status == CallStatus.IN_PROGRESS:
        return _current_prompt(attempt)
    answered_by = params.get("AnsweredBy", "")[:24]
    answered = {"answered_by": answered_by, "status": CallStatus.IN_PROGRESS}  # saved below
    if answered_by.startswith(MACHINE_ANSWERS):
        _next_step(attempt, stage=Stage.DONE, outcome=Outcome.MACHINE, **answered)
        return voice.hang_up()
    if _still_pending(attempt).status != Status.PENDING:
        return _done(attempt, _already(attempt.handoff), Outcome.TOO_LATE, **answered)
    if _approver(attempt) is None:
        return _not_allowed(attempt, **answered)
    _next_step(attempt, stage=Stage.MENU, **answered)
    return voice.menu(attempt)


def _current_prompt(attempt: CallAttempt) -> str:
    if attempt.stage == Stage.OTP:
        return voice.ask_code(attempt)
    return voice.menu(attempt)


def _approver(attempt: CallAttempt) -> Membership | None:
    """The member on the line, as stored now, if they may still decide; else ``None``.

    Checked at every step: since the call began they may have been removed,
    deactivated or given a role that does not decide.
    """
    return handoffs.deciding_member(attempt.member_id, attempt.org_id)


def _not_allowed(attempt: CallAttempt, **fields: object) -> str:
    """Hang up on an approver who may no longer decide; the escalation moves on."""
    words = "You can no longer decide requests for this organization. Nothing was changed. Goodbye."
    return _done(attempt, words, Outcome.NOT_ALLOWED, **fields)


def _already(handoff: Handoff) -> str:
    return f"This request is already {handoff.status}. Nothing was changed. Goodbye."


@transaction.atomic
def keys(code: str, step: str, digits: str) -> str:
    """The approver pressed ``digits`` at the current step."""
    attempt = _locked_step(code, step)
    if _still_pending(attempt).status != Status.PENDING:
        return _done(attempt, _already(attempt.handoff), Outcome.TOO_LATE)
    member = _approver(attempt)
    if member is None:
        return _not_allowed(attempt)
    if attempt.stage == Stage.OTP:
        return _code_entered(attempt, member, digits)
    if digits == "1":
        if handoffs.needs_otp(attempt.handoff):
            _next_step(attempt, stage=Stage.OTP, silences=0)
            return voice.ask_code(attempt)
        return _decide(attempt, member, "approve", Outcome.APPROVED, "Approved. Goodbye.")
    if digits == "2":
        return _decide(attempt, member, "deny", Outcome.DENIED, "Denied. Goodbye.")
    if digits == "9":
        return _decide(
            attempt,
            member,
            "deny",
            Outcome.FROZEN,
            "Denied. The device is frozen until an admin unfreezes it. Goodbye.",
            freeze=True,
        )
    _next_step(attempt, silences=0)
    if digits == "*":
        return voice.menu(attempt)
    return voice.menu(attempt, preface="That is not one of the choices.", repeat_request=False)


def _code_entered(attempt: CallAttempt, member: Membership, digits: str) -> str:
    device = TOTPDevice.objects.filter(user=member.user, confirmed=True).first()
    check = CodeCheck.REFUSED if device is None else device.verify_decision_code(digits)
    if check is CodeCheck.ACCEPTED:
        words = "Code accepted. Approved. Goodbye."
        return _decide(attempt, member, "approve", Outcome.APPROVED, words)
    if check is CodeCheck.THROTTLED:
        # Too soon after a wrong code (here or in another channel): the code
        # was not checked, so it is not a wrong one; asking again counts like
        # a silence, so a call cannot loop on it.
        return _code_throttled(attempt)
    audit.append(attempt.org, Event.OTP_FAILED, member.public_id, attempt.handoff.public_id)
    failures = attempt.otp_failures + 1
    if failures >= MAX_OTP_FAILURES:
        attempt.otp_failures = failures
        words = "That code is not valid. Denied."
        return _decide(attempt, member, "deny", Outcome.OTP_FAILED, words)
    _next_step(attempt, otp_failures=failures, silences=0)
    return voice.ask_code(attempt, preface="That code is not valid.")


def _code_throttled(attempt: CallAttempt) -> str:
    silences = attempt.silences + 1
    if silences >= MAX_SILENCES:
        return _done(attempt, "Too many wrong codes just now. Goodbye.", Outcome.NO_INPUT)
    _next_step(attempt, silences=silences)
    preface = "Too soon after a wrong code. Wait a few seconds, then enter the code again."
    return voice.ask_code(attempt, preface=preface)


def _decide(
    attempt: CallAttempt,
    member: Membership,
    decision: str,
    outcome: str,
    words: str,
    *,
    freeze: bool = False,
) -> str:
    try:
        handoffs.decide(attempt.handoff, decision, via="ivr", actor=member.public_id, by=member)
    except handoffs.HandoffError as refusal:
        if refusal.code == "permission_denied":  # removed or demoted a moment ago
            return _not_allowed(attempt)
        handoff = Handoff.objects.get(pk=attempt.handoff_id)  # decided elsewhere a moment ago
        return _done(attempt, _already(handoff), Outcome.TOO_LATE)
    if freeze:
        devices.freeze(attempt.handoff.device, actor=member.public_id, reason="unexpected_request")
    return _done(attempt, words, outcome, otp_failures=attempt.otp_failures)


@transaction.atomic
def silence(code: str, step: str) -> str:
    """The prompt ended with no key: repeat it once, then hang up (the call then escalates)."""
    attempt = _locked_step(code, step)
    if _still_pending(attempt).status != Status.PENDING:
        return _done(attempt, _already(attempt.handoff), Outcome.TOO_LATE)
    silences = attempt.silences + 1
    if silences >= MAX_SILENCES:
        return _done(attempt, "No answer received. Goodbye.", Outcome.NO_INPUT)
    _next_step(attempt, silences=silences)
    if attempt.stage == Stage.OTP:
        return voice.ask_code(attempt)
    return voice.menu(attempt)
