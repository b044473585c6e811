"""Making, using and revoking personal API tokens."""

from __future__ import annotations

from django.utils import timezone

from ony import tokens
from ony.models import ApiToken, User

PREFIX = "ony_pat_"


def create(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its plain text, which is shown once and never stored."""
    token = tokens.new_token(PREFIX)
    record = ApiToken.objects.create(user=user, name=name, token_hash=tokens.token_hash(token))
    return record, token


def user_for(token: str) -> tuple[User, ApiToken] | None:
    """The active user an unrevoked token belongs to, recording its use (once a minute)."""
    record = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=tokens.token_hash(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if record is None:
        return None
    rows = ApiToken.objects.filter(pk=record.pk)
    record.last_used_at = tokens.note_use(rows, "last_used_at", record.last_used_at)
    return record.user, record


def revoke(record: ApiToken) -> None:
    ApiToken.objects.filter(pk=record.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
