"""Roles inside an organization and what each may do.

Capabilities are sets of roles so that a check reads as what it means:
``membership.role in MANAGE``.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


#: Manage members, devices and the organization's settings.
MANAGE: frozenset[str] = frozenset({Role.ADMIN})
#: Decide handoffs (approve or deny).
DECIDE: frozenset[str] = frozenset({Role.ADMIN, Role.MEMBER})
#: Read the organization's data.
READ: frozenset[str] = frozenset(Role.values)
