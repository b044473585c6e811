"""Who is asking: the signed-in ``User``, the client's address, the account a login names."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from ony.models import User
from ony.models.user import normalize_email


def signed_in_user(request: HttpRequest) -> User:
    """The person behind ``request`` on a page behind a login (the dashboard, staff views).

    The admin site and ``staff_member_required`` let only active staff users
    through, so this never refuses there; it refuses (403) rather than act
    for an anonymous visitor should a page ever be reached without them.
    """
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def verified_user(user: Any) -> User | None:
    """``user`` (a request's) if signed in with a password and a TOTP code, else ``None``."""
    if not isinstance(user, User) or not user.is_active:
        return None
    is_verified = getattr(user, "is_verified", None)
    return user if is_verified is not None and is_verified() else None


def client_address(request: HttpRequest) -> str:
    """The client's address for rate limits: REMOTE_ADDR, or the one ``NUM_PROXIES`` back.

    The same rule as the API's throttles (``REST_FRAMEWORK["NUM_PROXIES"]``):
    ``X-Forwarded-For`` counts only as far as trusted proxies wrote it, never
    as the client sent it, which anyone can vary to dodge a limit.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES", 0)
    forwarded = request.headers.get("x-forwarded-for")
    if not proxies or not forwarded:
        return remote
    addresses = forwarded.split(",")
    return addresses[-min(proxies, len(addresses))].strip()


def login_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """The account a login names, as stored (emails are case-insensitive here).

    django-axes counts failures per account with this, so "ALICE@acme.test"
    and "alice@acme.test" are one account, as they are for logging in.
    """
    data = credentials if credentials is not None else request.POST
    # django-axes stores it in a 255-character column; no account's email is longer.
    return normalize_email(str((data or {}).get("username", "")))[:254]
