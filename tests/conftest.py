"""Suite-wide test plumbing."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
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


@pytest.fixture(autouse=True, scope="session")
def _leave_redis_as_found():
    """Purge what the suite queues and stores in its Redis database, before and after.

    Tasks left queued (a handoff's expiry scheduled minutes ahead, say) would
    otherwise wait there for the next worker, and results and cache keys pile
    up run after run. Only with REDIS_URL (CI gives the suite a database of
    its own), and only the suite's kinds of keys.
    """
    if not settings.REDIS_URL:
        yield
        return
    client = redis.Redis.from_url(settings.REDIS_URL)

    def purge() -> None:
        for pattern in ("celery", "celery-task-meta-*", "_kombu.*", "unacked*", "ony:*"):
            for key in client.scan_iter(match=pattern, count=1000):
                client.delete(key)

    purge()
    yield
    purge()
    client.close()
