"""Secrets at rest: TOTP keys are stored encrypted, and keys rotate without loss."""

from __future__ import annotations

from io import StringIO

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from ony.encryption import DecryptionError, decrypt, encrypt
from ony.models import TOTPDevice
from tests.base import OnyTestCase


def stored_key(device: TOTPDevice) -> str:
    """The key column exactly as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM ony_totpdevice WHERE id = %s", [device.pk])
        return cursor.fetchone()[0]


class EncryptionTests(OnyTestCase):
    def setUp(self):
        self.device = TOTPDevice.objects.get(user=self.alice)

    def test_it_never_stores_the_totp_secret_in_clear_text(self):
        raw = stored_key(self.device)
        self.assertNotIn(self.device.key, raw)
        self.assertNotIn(self.device.key.upper(), raw)
        self.assertEqual(decrypt(raw).decode(), self.device.key)
        self.assertEqual(TOTPDevice.objects.get(pk=self.device.pk).key, self.device.key)

    def test_it_encrypts_the_same_value_differently_each_time(self):
        self.assertNotEqual(encrypt(b"same"), encrypt(b"same"))

    def test_it_refuses_a_value_no_key_can_read(self):
        foreign = Fernet(Fernet.generate_key()).encrypt(b"secret").decode()
        with self.assertRaises(DecryptionError):
            decrypt(foreign)
        with self.assertRaises(DecryptionError):
            decrypt("not a token ü")

    def test_it_rotates_keys_and_keeps_old_rows_readable(self):
        from django.conf import settings

        old_keys = settings.ONY_ENCRYPTION_KEYS
        new_key = Fernet.generate_key()
        secret = self.device.key
        before = stored_key(self.device)

        with override_settings(ONY_ENCRYPTION_KEYS=[new_key, *old_keys]):
            # Old rows stay readable with the new key in front ...
            self.assertEqual(TOTPDevice.objects.get(pk=self.device.pk).key, secret)
            out = StringIO()
            call_command("rotate_encryption_keys", stdout=out)
            self.assertIn("ony.TOTPDevice: 5 rows re-encrypted", out.getvalue())
            after = stored_key(self.device)

        self.assertNotEqual(before, after)
        # ... and after rotation the old key can be dropped.
        with override_settings(ONY_ENCRYPTION_KEYS=[new_key]):
            self.assertEqual(TOTPDevice.objects.get(pk=self.device.pk).key, secret)
            self.assertEqual(Fernet(new_key).decrypt(after.encode()).decode(), secret)
        # The old key alone no longer reads the rotated row.
        with override_settings(ONY_ENCRYPTION_KEYS=old_keys), self.assertRaises(DecryptionError):
            TOTPDevice.objects.get(pk=self.device.pk)
