"""`pip install .` into a fresh virtualenv: the connector alone, and it works as documented."""

from __future__ import annotations

import json
import shutil
import tempfile
import venv
from pathlib import Path

from django.test import LiveServerTestCase

from audit.events import SYSTEM
from devices import services as devices
from handoffs.models import Handoff
from ony import services as org_services
from tests.connector import ConnectorHome, decision_of
from tests.servers import ROOT

#: What a copy of the checkout to install from leaves out.
NOT_SOURCE = (".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", "var", "*.sqlite3")


class FreshVirtualenvTests(LiveServerTestCase):
    def setUp(self) -> None:
        self.org = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        self.home = ConnectorHome()
        self.addCleanup(self.home.close)
        self.folder = Path(tempfile.mkdtemp(dir=self.home.root))
        venv.create(self.folder / "venv", with_pip=True)
        self.bin = self.folder / "venv" / "bin"
        # From a copy: pip builds in the source tree, and its build/ folder has no
        # place in the checkout (mypy would read it as a second copy of the code).
        source = self.folder / "source"
        shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
        self.install = self.run_in(str(self.bin / "pip"), "install", "--quiet", str(source))

    def run_in(self, *command: str, stdin: str = "", cwd: Path | None = None):
        return self.home.run_installed(*command, stdin=stdin, cwd=cwd or self.folder, timeout=600)

    def test_it_installs_nothing_else_and_works_from_enrollment_to_a_hook(self):
        self.assertEqual(self.install.returncode, 0, self.install.stderr)
        listed = self.run_in(str(self.bin / "pip"), "list", "--format=json")
        names = {package["name"] for package in json.loads(listed.stdout)}
        self.assertEqual(names - {"pip", "setuptools"}, {"ony"})  # no dependencies at all

        ony = str(self.bin / "ony")
        version = self.run_in(ony, "--version")
        self.assertEqual(version.stdout.strip(), "ony 0.1.0")

        _, token = devices.create_enrollment_token(self.org)
        enrolled = self.run_in(ony, "enroll", "--server", self.live_server_url, "--token", token)
        self.assertEqual(enrolled.returncode, 0, enrolled.stderr)

        project = self.folder / "project"
        project.mkdir()
        installed = self.run_in(ony, "install", "claude-code", "--project", cwd=project)
        self.assertEqual(installed.returncode, 0, installed.stderr)
        settings_file = project / ".claude" / "settings.json"
        hook = json.loads(settings_file.read_text())["hooks"]["PreToolUse"][0]["hooks"][0]
        self.assertIn(str(self.bin), hook["command"])  # the virtualenv's own python

        call = {
            "session_id": "fresh",
            "tool_name": "Bash",
            "tool_input": {"command": "ls"},
            "cwd": str(project),
            "hook_event_name": "PreToolUse",
        }
        answered = self.run_in(
            "/bin/sh", "-c", hook["command"], stdin=json.dumps(call), cwd=project
        )
        self.assertEqual(decision_of(answered)[0], "allow")
        self.assertEqual(Handoff.objects.get().action, "shell.readonly")
