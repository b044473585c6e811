"""Tampering with the audit tables through raw SQL, as an attacker with database access would.

On PostgreSQL the triggers refuse UPDATE and DELETE, so these helpers switch
triggers off for the session first, which a superuser or table owner can do
(docs/audit.md explains running as a role that cannot).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection


@contextmanager
def triggers_off() -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")


def sql(statement: str, params: list[Any] | tuple = ()) -> None:
    with triggers_off(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def entry_row(org_pk: int, seq: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, canonical, prev_hash, hash, event, actor, subject "
            "FROM audit_auditentry WHERE org_id = %s AND seq = %s",
            [org_pk, seq],
        )
        return cursor.fetchone()
