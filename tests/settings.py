"""Test settings: the real ony.settings, with fixed test keys and DEBUG off.

DATABASE_URL and REDIS_URL come from the environment (CI sets PostgreSQL and
Redis); without them the suite runs on SQLite and the local-memory cache.
"""

import os

os.environ.update(
    {
        "ONY_ENV_FILE": "",  # never read a developer's .env
        "DEBUG": "0",
        "SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdef",
        "ONY_ENCRYPTION_KEYS": "dGVzdC1lbmNyeXB0aW9uLWtleS0wMDAwMDAwMDAwMDA=",
        "ONY_AUDIT_KEYS": "t1:3Vi2TJqpgcm4H8mWuAvFMtLOHIaoAcK0Gb1O08k1bKs=",
        "ONY_CHECKPOINT_KEY": "Q2hlY2twb2ludCBrZXkgZm9yIHRlc3RzIG9ubHkhISE=",
        "ONY_PUBLIC_URL": "http://testserver",
        "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        # The same in both modes (tests that want it turn it on themselves).
        "ONY_CHECKPOINT_ON_COMMIT": "0",
        # Many tests ask for many phone-routed handoffs from one device; the
        # tests of these limits set their own.
        "ONY_PHONE_HANDOFF_RATE": "100000/minute",
        "ONY_MAX_WAITS_PER_DEVICE": "1000",
        # No timer threads firing into later tests (the deadlines of a test's
        # handoffs would expire rows of the next one's): tasks due later run
        # at once, as Celery's eager mode does. tests/test_queue.py turns them on.
        "ONY_EAGER_TIMERS": "0",
    }
)

from ony.settings import *  # noqa: F403

# Fast hashing for the many users tests create; production keeps PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
