"""Who is asking: ``request.user`` as a ``User`` on pages only signed-in people reach."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from ony.models import User


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
