"""Tenant isolation by construction.

Every organization-owned model inherits ``OrgOwned``: an ``org`` foreign key and
a default manager built from ``OrgScopedQuerySet``. Views, serializers, admin
pages and tasks reach rows through ``.for_user(user)`` (what a person may see)
or ``.for_org(org)`` (what a task or device of that org may touch); a system
check (``ony.E010``) refuses models that point at an organization without it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Self

from django.db import models

from ony.roles import READ

if TYPE_CHECKING:
    from ony.models.org import Organization


def roles_by_org(user: Any) -> dict[int, str]:
    """``{org_pk: role}`` for an active user, cached on the user object.

    Django loads ``request.user`` afresh for each request, so the cache lives
    as long as one request.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    cached = getattr(user, "_ony_roles", None)
    if cached is None:
        cached = dict(user.memberships.values_list("org_id", "role"))
        user._ony_roles = cached
    return cached


def org_ids_for(user: Any, roles: Iterable[str] = READ) -> list[int]:
    """Primary keys of the organizations where ``user`` holds one of ``roles``."""
    wanted = set(roles)
    return [org_pk for org_pk, role in roles_by_org(user).items() if role in wanted]


def has_role(user: Any, org: Organization | int | None, roles: Iterable[str]) -> bool:
    """Whether ``user`` holds one of ``roles`` in ``org`` (superusers hold all)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if org is None:
        return False
    org_pk = org if isinstance(org, int) else org.pk
    return roles_by_org(user).get(org_pk) in set(roles)


class OrgScopedQuerySet(models.QuerySet):
    """Rows that belong to an organization; ``org_path`` leads to it."""

    org_path = "org"

    def for_org(self, org: Organization | int) -> Self:
        return self.filter(**{self.org_path: org})

    def for_user(self, user: Any, roles: Iterable[str] = READ) -> Self:
        """Rows of the organizations where ``user`` holds one of ``roles``.

        Inactive and anonymous users see nothing; a superuser, who operates
        the installation, sees every organization.
        """
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(**{f"{self.org_path}__in": org_ids_for(user, roles)})


class OrgOwned(models.Model):
    """Abstract base of every organization-owned model."""

    org = models.ForeignKey(
        "ony.Organization", on_delete=models.PROTECT, related_name="%(app_label)s_%(class)s_set"
    )

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        abstract = True
