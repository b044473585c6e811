"""Authentication for members calling the API from the dashboard's session."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    get_authorization_header,
)
from rest_framework.request import Request

from ony import api_tokens
from ony.auth import verified_user


class VerifiedSessionAuthentication(SessionAuthentication):
    """A dashboard session counts only once it was verified with a TOTP code.

    The admin login is the only way to get a session, and it asks for the
    code; this makes sure that stays true for the API whatever logs in later.
    """

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        if verified_user(request._request.user) is None:
            return None
        return result


class PersonalTokenAuthentication(BaseAuthentication):
    """``Authorization: Token <personal API token>`` for members."""

    keyword = b"token"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        try:
            token = parts[1].decode("ascii") if len(parts) == 2 else ""
        except UnicodeDecodeError:
            token = ""
        found = api_tokens.user_for(token) if token else None
        if found is None:
            raise exceptions.AuthenticationFailed(
                "This API token is not valid.", code="invalid_api_token"
            )
        return found

    def authenticate_header(self, request: Request) -> str:
        return 'Token realm="ony"'
