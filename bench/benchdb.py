"""A dedicated PostgreSQL database for benchmarks, and Django configured to use it.

BENCH_DATABASE_URL names the server's maintenance database (default
postgres://postgres@127.0.0.1:5432/postgres); the benchmark database beside it
is created once and reused.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "ony_bench"


def _key(label: str) -> bytes:
    return hashlib.sha256(f"ony-bench-{label}".encode()).digest()


def bench_url() -> str:
    parts = urlsplit(ADMIN_URL)
    return urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def django_setup(migrate: bool = False, redis: bool = False) -> None:
    """Configure Django for the benchmark database (fixed, benchmark-only keys).

    With ``migrate``, the database is created if missing and migrated. With
    ``redis``, Redis (BENCH_REDIS_URL) is the cache, broker and pub/sub.
    """
    sys.path.insert(0, str(ROOT))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "ony.settings",
            "ONY_ENV_FILE": "",
            "DEBUG": "0",
            "DATABASE_URL": bench_url(),
            "SECRET_KEY": base64.b64encode(_key("secret")).decode(),
            "ONY_ENCRYPTION_KEYS": base64.urlsafe_b64encode(_key("fernet")).decode(),
            "ONY_AUDIT_KEYS": "b1:" + base64.b64encode(_key("audit")).decode(),
            "ONY_CHECKPOINT_KEY": base64.b64encode(_key("checkpoint")).decode(),
            "LOG_LEVEL": "WARNING",
            # Benchmarks park hundreds of waits from one device on purpose.
            "ONY_PHONE_HANDOFF_RATE": "1000000/minute",
            "ONY_MAX_WAITS_PER_DEVICE": "100000",
        }
    )
    if redis:
        os.environ["REDIS_URL"] = BENCH_REDIS_URL
    else:
        os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        ensure_database()
        call_command("migrate", verbosity=0)


def fresh_org_with_device(label: str):
    """A new organization ``bench-LABEL-xxxxxxxx`` and one enrolled device: ``(org, enrolled)``."""
    import uuid

    from audit.events import SYSTEM
    from devices import services as devices
    from ony import services as org_services

    slug = f"bench-{label}-{uuid.uuid4().hex[:8]}"
    org = org_services.create_organization(name=f"Bench {label}", slug=slug, actor=SYSTEM)
    _, token = devices.create_enrollment_token(org)
    return org, devices.enroll(token, "bench")
