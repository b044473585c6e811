"""The connector's configuration: private files, strict settings, a witness that only rises."""

from __future__ import annotations

import json
import os
import stat

from django.test import SimpleTestCase

from ony.connector import config as settings
from tests.connector import ConnectorHome


class ConfigTests(SimpleTestCase):
    def setUp(self):
        self.home = ConnectorHome()
        self.addCleanup(self.home.close)
        self.config = self.home.write("https://ony.example.com")
        self.path = self.home.directory / settings.DEVICE_FILE

    def edit(self, **changes) -> None:
        data = json.loads(self.path.read_text())
        data.update(changes)
        self.path.write_text(json.dumps(data))

    def test_it_writes_the_files_only_their_owner_can_read(self):
        self.assertEqual(stat.S_IMODE(self.path.stat().st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(self.home.directory.stat().st_mode), 0o700)
        self.assertEqual(settings.load(self.home.directory), self.config)

    def test_it_refuses_a_file_others_can_read_or_write(self):
        for mode in (0o640, 0o604, 0o620, 0o602):
            with self.subTest(oct(mode)):
                os.chmod(self.path, mode)
                with self.assertRaises(settings.ConfigError) as caught:
                    settings.load(self.home.directory)
                self.assertEqual(caught.exception.reason, "unsafe_config")

    def test_it_refuses_a_symlink(self):
        link = self.home.root / "link"
        self.path.rename(link)
        self.path.symlink_to(link)
        with self.assertRaises(settings.ConfigError) as caught:
            settings.load(self.home.directory)
        self.assertEqual(caught.exception.reason, "unreadable_config")

    def test_it_refuses_bad_settings_with_a_reason(self):
        for changes in (
            {"fail_mode": "allow"},
            {"deadline_seconds": 1},
            {"deadline_seconds": "60"},
            {"decision_key": "short"},
            {"device_id": "laptop"},
            {"server": "ftp://x"},
            {"attach_payload": "yes"},
            {"surprise": 1},
        ):
            with self.subTest(changes):
                self.home.write("https://ony.example.com")
                self.edit(**changes)
                with self.assertRaises(settings.ConfigError) as caught:
                    settings.load(self.home.directory)
                self.assertEqual(caught.exception.reason, "invalid_config")

    def test_the_witness_keeps_the_highest_entry(self):
        directory = self.home.directory
        self.assertIsNone(settings.read_witness(directory))
        settings.record_witness(directory, 5, "aa" * 32)
        settings.record_witness(directory, 3, "bb" * 32)
        settings.record_witness(directory, 9, "cc" * 32)
        self.assertEqual(settings.read_witness(directory), (9, "cc" * 32))
        witness = directory / settings.WITNESS_FILE
        self.assertEqual(stat.S_IMODE(witness.stat().st_mode), 0o600)

    def test_the_hook_timeout_is_above_the_deadline(self):
        self.assertGreater(self.config.hook_timeout_seconds, self.config.deadline_seconds)
