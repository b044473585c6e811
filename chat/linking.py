"""A member links their own chat accounts; nobody links one for them.

Telegram: Ony makes a one-time deep link (``t.me/<bot>?start=<token>``);
whoever sends that ``/start`` to the bot in a private chat becomes the
member's Telegram account. Slack: the member names their Slack user id, Ony
sends a code there, and the member types it back on their page, which
proves the account is theirs. Links expire and work once; linking and
unlinking are audited (``chat.linked``, ``chat.unlinked``: the service,
never the chat id).
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.events import Event
from chat import slack, telegram, texts
from chat.errors import ChatError, Unreachable
from chat.models import ChatLink, Service
from ony import ratelimit
from ony.models import Membership
from ony.tokens import token_hash

LINK_LIFETIME = timedelta(minutes=15)
#: Wrong Slack codes a link survives; then a new code is needed.
MAX_FAILURES = 5
#: Telegram's ``/start`` parameter: at most 64 of ``A-Z a-z 0-9 _ -``.
TELEGRAM_TOKEN = re.compile(r"^tg[A-Za-z0-9_-]{32}$")
#: A Slack user id (``U...``, or ``W...`` on Enterprise Grid).
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")
#: Codes a person types: no 0/O or 1/I/L to misread.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
#: Slack codes one member may have sent (each is a message to someone).
SEND_CODE_RATE = ratelimit.Rate(5, 3600)


def _field(service: str) -> str:
    return "slack_user_id" if service == Service.SLACK else "telegram_chat_id"


def _new_link(member: Membership, service: str, token: str, candidate: str = "") -> ChatLink:
    # One pending link per member and service: a new one voids the older.
    ChatLink.objects.for_org(member.org_id).filter(
        member=member, service=service, used_at__isnull=True
    ).update(used_at=timezone.now())
    return ChatLink.objects.create(
        org=member.org,
        member=member,
        created_by=member,
        service=service,
        candidate=candidate,
        token_hash=token_hash(token),
        expires_at=timezone.now() + LINK_LIFETIME,
    )


@transaction.atomic
def telegram_link(member: Membership) -> str:
    """A fresh one-time ``t.me`` deep link that links the member's Telegram account."""
    token = "tg" + secrets.token_urlsafe(24)
    _new_link(member, Service.TELEGRAM, token)
    return f"https://t.me/{telegram.bot_username()}?start={token}"


def finish_telegram(token: str, telegram_user_id: str) -> Membership | None:
    """Link ``telegram_user_id`` to the member whose deep link is ``token``; else ``None``."""
    if not TELEGRAM_TOKEN.match(token):
        return None
    with transaction.atomic():
        link = (
            ChatLink.objects.select_for_update(of=("self",))
            .select_related("member", "member__org")
            .filter(service=Service.TELEGRAM, token_hash=token_hash(token))
            .first()
        )
        if link is None or not link.usable:
            return None
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
        try:
            _set(link.member, Service.TELEGRAM, telegram_user_id, actor=link.member.public_id)
        except AlreadyLinked:
            return None  # the link is spent all the same
    return link.member


@transaction.atomic
def slack_send_code(member: Membership, user_id: str) -> None:
    """Send a code to Slack user ``user_id`` for the member to type back (``slack_confirm``)."""
    user_id = user_id.strip()
    if not SLACK_USER_ID.match(user_id):
        raise ValidationError(
            "A Slack member ID looks like U0123ABCD (in Slack: your profile, ⋮, Copy member ID).",
            code="invalid_slack_user",
        )
    if not ratelimit.allow(f"slack-link:{member.pk}", SEND_CODE_RATE):
        raise ValidationError("Too many codes sent: wait an hour.", code="throttled")
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    _new_link(member, Service.SLACK, _normal(code), candidate=user_id)
    text = (
        f"Your Ony code is {code[:4]}-{code[4:]}. Type it on your Ony page to receive "
        f"approval requests of {member.org.name} here. Did not ask for it? Ignore this."
    )
    block = {"type": "section", "text": {"type": "plain_text", "text": text}}
    try:
        slack.post_message(user_id, texts.mrkdwn_escape(text), [block])
    except Unreachable:
        raise ValidationError(
            "Slack has no member with that ID here.", code="slack_unreachable"
        ) from None
    except ChatError:
        raise ValidationError(
            "Slack did not take the message; try again.", code="chat_unavailable"
        ) from None


def slack_pending(member: Membership) -> bool:
    """Whether a Slack code was sent to the member and can still be typed in."""
    link = (
        ChatLink.objects.for_org(member.org_id)
        .filter(member=member, service=Service.SLACK, used_at__isnull=True)
        .order_by("-pk")
        .first()
    )
    return link is not None and link.usable


def _normal(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def slack_confirm(member: Membership, code: str) -> None:
    """Link the Slack user the member's pending code went to, if ``code`` is that code."""
    with transaction.atomic():
        link = (
            ChatLink.objects.for_org(member.org_id)
            .select_for_update(of=("self",))
            .filter(member=member, service=Service.SLACK, used_at__isnull=True)
            .order_by("-pk")
            .first()
        )
        if link is None or not link.usable:
            raise ValidationError("No code is pending: send a new one.", code="no_pending_link")
        if not secrets.compare_digest(token_hash(_normal(code)), link.token_hash):
            link.failures += 1
            if link.failures >= MAX_FAILURES:
                link.used_at = timezone.now()
            link.save(update_fields=["failures", "used_at"])
            wrong = True
        else:
            link.used_at = timezone.now()
            link.save(update_fields=["used_at"])
            try:
                _set(member, Service.SLACK, link.candidate, actor=member.public_id)
            except AlreadyLinked:
                raise ValidationError(
                    "That Slack account is someone else's in this organization.",
                    code="already_linked",
                ) from None
            wrong = False
    if wrong:  # raised after the commit, so that the failure counts
        raise ValidationError("That is not the code Ony sent.", code="wrong_code")


class AlreadyLinked(Exception):
    """The chat account is another member's in the same organization."""


def _set(member: Membership, service: str, chat_id: str, *, actor: str) -> None:
    """Link ``chat_id``; ``AlreadyLinked`` if someone else in the org has it (a click there
    would decide as one of them, and the audit could not tell who)."""
    others = Membership.objects.for_org(member.org_id).exclude(pk=member.pk)
    if others.filter(**{_field(service): chat_id}).exists():
        raise AlreadyLinked
    Membership.objects.filter(pk=member.pk).update(**{_field(service): chat_id})
    setattr(member, _field(service), chat_id)
    audit.append(member.org, Event.CHAT_LINKED, actor, member.public_id, {"service": service})


@transaction.atomic
def unlink(member: Membership, service: str, *, actor: str) -> None:
    """Stop sending to the member's ``service`` account now; its messages stop counting."""
    if not getattr(member, _field(service)):
        return
    Membership.objects.filter(pk=member.pk).update(**{_field(service): ""})
    setattr(member, _field(service), "")
    audit.append(member.org, Event.CHAT_UNLINKED, actor, member.public_id, {"service": service})
