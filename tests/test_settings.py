"""Settings: production refuses to start without its keys, and says why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models
from django.test import SimpleTestCase, override_settings
from django.test.utils import isolate_apps

from ony import checks, keys
from ony.models import Organization, OrgOwned

ROOT = Path(__file__).resolve().parent.parent
FERNET = "dGVzdC1lbmNyeXB0aW9uLWtleS0wMDAwMDAwMDAwMDA="
AUDIT = "a1:3Vi2TJqpgcm4H8mWuAvFMtLOHIaoAcK0Gb1O08k1bKs="
CHECKPOINT = "Q2hlY2twb2ludCBrZXkgZm9yIHRlc3RzIG9ubHkhISE="
ALL_KEYS = {
    "SECRET_KEY": "s" * 50,
    "ONY_ENCRYPTION_KEYS": FERNET,
    "ONY_AUDIT_KEYS": AUDIT,
    "ONY_CHECKPOINT_KEY": CHECKPOINT,
}


def without(name: str) -> dict[str, str]:
    return {k: v for k, v in ALL_KEYS.items() if k != name}


def start(**env: str) -> subprocess.CompletedProcess:
    """Load ony.settings in a fresh interpreter with exactly ``env``."""
    clean = {"PATH": os.environ["PATH"], "ONY_ENV_FILE": "", **env}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "ony.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


class ProductionSettingsTests(SimpleTestCase):
    def test_it_starts_with_every_key_set(self):
        result = start(**ALL_KEYS)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("started", result.stdout)

    def test_it_refuses_to_start_without_any_one_key(self):
        for name in ALL_KEYS:
            with self.subTest(name):
                result = start(**without(name))
                self.assertNotEqual(result.returncode, 0)
                self.assertIn(f"{name} is not set", result.stderr)

    def test_it_refuses_an_unknown_log_format(self):
        result = start(**ALL_KEYS, LOG_FORMAT="xml")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("LOG_FORMAT is 'xml': use plain or json.", result.stderr)
        self.assertEqual(start(**ALL_KEYS, LOG_FORMAT="json").returncode, 0)

    def test_it_refuses_a_malformed_encryption_key(self):
        result = start(**{**ALL_KEYS, "ONY_ENCRYPTION_KEYS": "short"})
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("key 1 is not a Fernet key", result.stderr)

    def test_it_refuses_a_malformed_checkpoint_key(self):
        result = start(**{**ALL_KEYS, "ONY_CHECKPOINT_KEY": "c2hvcnQ="})
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("ONY_CHECKPOINT_KEY: the Ed25519 private key must be 32 bytes", result.stderr)

    def test_it_uses_development_keys_only_in_debug(self):
        result = start(DEBUG="1")
        self.assertEqual(result.returncode, 0, result.stderr)


class DatabasePoolTests(SimpleTestCase):
    def options(self, **env: str) -> str:
        script = "import django; django.setup(); from django.conf import settings; "
        script += "print(settings.DATABASES['default'].get('OPTIONS', {}).get('pool'))"
        clean = {"PATH": os.environ["PATH"], "ONY_ENV_FILE": "", **ALL_KEYS, **env}
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**clean, "DJANGO_SETTINGS_MODULE": "ony.settings"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.strip()

    def test_it_pools_postgresql_connections_when_asked(self):
        pooled = self.options(DATABASE_URL="postgres://ony@db/ony", DB_POOL_MAX_SIZE="8")
        self.assertEqual(pooled, "{'min_size': 1, 'max_size': 8, 'timeout': 10}")
        self.assertEqual(self.options(DATABASE_URL="postgres://ony@db/ony"), "None")
        self.assertEqual(self.options(DB_POOL_MAX_SIZE="8"), "None")  # SQLite: no pool


class KeyParsingTests(SimpleTestCase):
    def test_it_parses_audit_keys_in_order(self):
        parsed = keys.parse_audit_keys(f"{AUDIT}, b2:{'A' * 43}=")
        self.assertEqual(list(parsed), ["a1", "b2"])
        self.assertEqual(len(parsed["a1"]), 32)

    def test_it_refuses_bad_audit_keys(self):
        for value, message in [
            ("", "is empty"),
            ("nocolon", "id:base64"),
            ("a1:!!!", "not valid base64"),
            ("a1:c2hvcnQ=", "at least 32"),
            (f"{AUDIT},{AUDIT}", "appears twice"),
            ("bad id:" + "A" * 44, "id:base64"),
        ]:
            with self.subTest(value=value), self.assertRaisesMessage(ImproperlyConfigured, message):
                keys.parse_audit_keys(value)

    def test_it_refuses_bad_fernet_keys(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "key 2 is not a Fernet key"):
            keys.parse_fernet_keys(f"{FERNET},abc")


class SystemCheckTests(SimpleTestCase):
    def ids(self, messages):
        return [m.id for m in messages]

    def test_it_is_quiet_with_the_test_keys(self):
        self.assertEqual(checks.check_keys(), [])
        self.assertEqual(checks.check_org_scoping(), [])

    @override_settings(SECRET_KEY=keys.DEV_SECRET_KEY, DEBUG=False)
    def test_it_errors_on_development_keys_in_production(self):
        self.assertEqual(self.ids(checks.check_keys()), ["ony.E001"])

    @override_settings(SECRET_KEY=keys.DEV_SECRET_KEY, DEBUG=True)
    def test_it_warns_on_development_keys_in_debug(self):
        self.assertEqual(self.ids(checks.check_keys()), ["ony.W001"])

    def test_it_errors_when_the_audit_key_is_the_encryption_key(self):
        import base64

        from django.conf import settings

        fernet_raw = base64.urlsafe_b64decode(settings.ONY_ENCRYPTION_KEYS[0])
        with override_settings(ONY_AUDIT_KEYS={"x": fernet_raw}):
            self.assertEqual(self.ids(checks.check_keys()), ["ony.E002"])

    @override_settings(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        ONY_PUBLIC_URL="http://ony.example",
        REDIS_URL="",
    )
    def test_it_flags_a_dangerous_deployment(self):
        expected = ["ony.E003", "ony.W002", "ony.W003"]
        if connection.vendor == "sqlite":
            expected.append("ony.W004")
        self.assertEqual(self.ids(checks.check_deployment()), expected)

    @override_settings(
        DEBUG=False,
        ALLOWED_HOSTS=["ony.example"],
        ONY_PUBLIC_URL="https://ony.example",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    def test_it_accepts_a_sound_deployment(self):
        expected = ["ony.W004"] if connection.vendor == "sqlite" else []
        self.assertEqual(self.ids(checks.check_deployment()), expected)


class OrgScopingCheckTests(SimpleTestCase):
    @isolate_apps("ony")
    def test_it_finds_an_org_owned_model_without_scoping(self):
        class Leaky(models.Model):
            org = models.ForeignKey(Organization, on_delete=models.CASCADE)

            class Meta:
                app_label = "ony"

        class Scoped(OrgOwned):
            class Meta:
                app_label = "ony"

        class Unrelated(models.Model):
            name = models.CharField(max_length=10)

            class Meta:
                app_label = "ony"

        self.assertEqual(checks.unscoped_org_models([Leaky, Scoped, Unrelated]), [Leaky])
