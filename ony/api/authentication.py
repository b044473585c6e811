"""Authentication for members calling the API from the dashboard's session."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request


class VerifiedSessionAuthentication(SessionAuthentication):
    """A dashboard session counts only once it was verified with a TOTP code.

    The admin login is the only way to get a session, and it asks for the
    code; this makes sure that stays true for the API whatever logs in later.
    """

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = request._request.user
        is_verified = getattr(user, "is_verified", None)
        if is_verified is None or not is_verified():
            return None
        return result
