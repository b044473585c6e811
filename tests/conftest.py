"""Suite-wide test plumbing."""

from __future__ import annotations

import pytest
from django.db.backends.postgresql.operations import DatabaseOperations


@pytest.fixture(autouse=True, scope="session")
def _flush_past_audit_triggers():
    """Let the test runner empty tables between transactional tests.

    On PostgreSQL the audit tables refuse TRUNCATE (audit migration 0002), so
    Django's flush after a TransactionTestCase would fail. The test database
    role is a superuser, which may switch triggers off for its own session;
    this does so for the flush alone. Production runs as a role that cannot
    (docs/audit.md).
    """
    original = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: DatabaseOperations, sql_list: list[str]) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            original(self, sql_list)
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = original
