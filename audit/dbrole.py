"""Grants for running Ony as a PostgreSQL role that owns nothing.

Such a role reads and writes the application's tables, only reads and
appends audit rows, and cannot switch the audit triggers off: that needs the
tables' owner or a superuser.
"""

from __future__ import annotations

import re

from audit.models import AuditEntry, Checkpoint

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_statements(role: str) -> list[str]:
    """SQL, to run as the tables' owner after each ``migrate``, for application role ``role``."""
    if not _ROLE.match(role):
        raise ValueError(f"{role!r} is not a plain lower-case role name")
    audit_tables = ", ".join(m._meta.db_table for m in (AuditEntry, Checkpoint))
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {audit_tables} FROM {role}",
    ]
