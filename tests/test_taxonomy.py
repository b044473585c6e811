"""The server-owned taxonomy: unknown is critical, overrides only raise, the doc matches."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.exceptions import ValidationError
from django.test import Client, SimpleTestCase

from handoffs import taxonomy
from handoffs.taxonomy import ACTIONS, Risk, base_risk, effective_risk, validate_overrides
from ony import services
from tests.base import OnyTestCase, bearer, enroll_device

DOC = Path(__file__).resolve().parent.parent / "docs" / "taxonomy.md"


class TaxonomyTests(SimpleTestCase):
    def test_it_covers_the_areas_the_product_guards(self):
        categories = {action.category for action in ACTIONS.values()}
        for area in (
            "file",
            "shell",
            "git",
            "package",
            "network",
            "db",
            "infra",
            "deploy",
            "secret",
            "identity",
        ):
            self.assertIn(area, categories)
        self.assertGreaterEqual(len(ACTIONS), 40)
        for name in ACTIONS:
            self.assertRegex(name, taxonomy.ACTION_NAME)

    def test_the_design_names_keep_their_risks(self):
        self.assertEqual(base_risk("deploy.production"), Risk.CRITICAL)
        self.assertEqual(base_risk("shell.obfuscated"), Risk.CRITICAL)
        self.assertEqual(base_risk("shell.readonly"), Risk.LOW)
        self.assertIn("secret.read", ACTIONS)
        self.assertIn("shell.exec", ACTIONS)

    def test_an_unknown_action_is_critical(self):
        for name in ("deploy.moon", "", "DEPLOY.PRODUCTION", "file.read ", "x" * 500):
            self.assertEqual(base_risk(name), Risk.CRITICAL)
            self.assertEqual(effective_risk(name, {}), Risk.CRITICAL)

    def test_an_override_only_raises(self):
        self.assertEqual(
            effective_risk("deploy.staging", {"deploy.staging": "critical"}), Risk.CRITICAL
        )
        # A lower or broken stored value never lowers the risk.
        self.assertEqual(
            effective_risk("deploy.production", {"deploy.production": "low"}), Risk.CRITICAL
        )
        self.assertEqual(effective_risk("deploy.staging", {"deploy.staging": "bogus"}), Risk.MEDIUM)
        self.assertEqual(effective_risk("deploy.staging", {"deploy.staging": None}), Risk.MEDIUM)

    def test_it_validates_overrides(self):
        validate_overrides({"deploy.staging": "high", "file.read": "low"})
        for bad, code in [
            ({"deploy.production": "high"}, "risk_lowered"),
            ({"no.such": "high"}, "unknown_action"),
            ({"deploy.staging": "extreme"}, "invalid_risk"),
            ({"deploy.staging": 3}, "invalid_risk"),
            (["deploy.staging"], "invalid"),
        ]:
            with self.subTest(bad=bad), self.assertRaises(ValidationError) as ctx:
                validate_overrides(bad)
            self.assertEqual(ctx.exception.code, code)

    def test_the_doc_lists_every_action_with_its_risk(self):
        documented = dict(re.findall(r"^\| `([a-z_.]+)` \| (\w+) \|", DOC.read_text(), re.M))
        self.assertEqual(documented, {name: a.risk.label for name, a in ACTIONS.items()})
        self.assertIn(f"version {taxonomy.VERSION}", DOC.read_text())


class TaxonomyApiTests(OnyTestCase):
    def test_it_serves_a_device_its_orgs_risks(self):
        services.update_organization(
            self.acme, actor="system", risk_overrides={"deploy.staging": "critical"}
        )
        laptop = enroll_device(self.acme)
        r = Client().get("/api/v1/taxonomy", **bearer(laptop.device_token))
        self.assertEqual(r.status_code, 200)
        body = r.json()
        self.assertEqual((body["version"], body["org"]), (taxonomy.VERSION, self.acme.public_id))
        self.assertEqual(body["unknown_action_risk"], "critical")
        actions = {a["action"]: a for a in body["actions"]}
        self.assertEqual(len(actions), len(ACTIONS))
        self.assertEqual(
            (actions["deploy.staging"]["risk"], actions["deploy.staging"]["base_risk"]),
            ("critical", "medium"),
        )
        # Another org's device sees its own org's risks, not Acme's override.
        build_box = enroll_device(self.globex)
        other = Client().get("/api/v1/taxonomy", **bearer(build_box.device_token)).json()
        staging = next(a for a in other["actions"] if a["action"] == "deploy.staging")
        self.assertEqual(staging["risk"], "medium")

    def test_it_serves_members_the_base_or_one_of_their_orgs(self):
        services.update_organization(self.acme, actor="system", risk_overrides={"git.push": "high"})
        client = self.client_for(self.carol)
        base = client.get("/api/v1/taxonomy").json()
        self.assertIsNone(base["org"])
        acme = client.get("/api/v1/taxonomy?org=acme").json()
        push = next(a for a in acme["actions"] if a["action"] == "git.push")
        self.assertEqual(push["risk"], "high")
        r = client.get("/api/v1/taxonomy?org=globex")
        self.assertEqual((r.status_code, r.json()["code"]), (404, "not_found"))

    def test_it_refuses_anonymous_callers(self):
        r = Client().get("/api/v1/taxonomy")
        self.assertEqual((r.status_code, r.json()["code"]), (401, "not_authenticated"))
