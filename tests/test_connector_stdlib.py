"""The connector imports with the Python standard library alone."""

from __future__ import annotations

import subprocess
import tempfile
import tomllib
import venv
from pathlib import Path

from django.test import SimpleTestCase

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import sys
import ony.connector
import ony.connector.cli
import ony.connector.hooks
import ony.connector.install
import ony.connector.sdk
import ony.connector.verdict
loaded = sorted({name.split(".")[0] for name in sys.modules})
third_party = [n for n in loaded if n in ("django", "rest_framework", "cryptography", "psycopg")]
print("third-party:", third_party)
"""


class BareVirtualenvTests(SimpleTestCase):
    def test_it_imports_the_connector_in_a_bare_virtualenv(self):
        with tempfile.TemporaryDirectory() as home:
            venv.create(home, with_pip=False, system_site_packages=False)
            python = Path(home) / "bin" / "python"
            result = subprocess.run(
                [
                    str(python),
                    "-I",
                    "-c",
                    f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{PROBE}",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("third-party: []", result.stdout)

    def test_the_ony_command_is_the_connectors_cli(self):
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        self.assertEqual(project["scripts"], {"ony": "ony.connector.cli:main"})
        self.assertEqual(project["dependencies"], [])
