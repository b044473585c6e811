"""The policy floor: critical always goes to a person and needs a TOTP code, whatever is stored."""

from __future__ import annotations

import importlib
from io import StringIO

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from audit.models import AuditEntry
from handoffs import services as handoffs
from handoffs.models import Status
from ony import services as org_services
from ony.checks import check_policy_floor
from ony.models import Organization
from tests.base import OnyTestCase, enroll_device, make_handoff
from tests.test_admin_roles import org_form

floor_migration = importlib.import_module("ony.migrations.0005_critical_policy_floor")


class PolicyFloorTests(OnyTestCase):
    def store_below_the_floor(self) -> None:
        """What a write around the models (SQL by hand) could leave behind."""
        Organization.objects.filter(pk=self.acme.pk).update(policy_critical="approve")
        self.acme.refresh_from_db()

    def test_it_refuses_to_store_a_critical_policy_below_the_floor(self):
        for route in ("approve", "ask", "phone"):
            with self.subTest(route), self.assertRaises(ValidationError) as refused:
                org_services.update_organization(self.acme, actor="system", policy_critical=route)
            [error] = refused.exception.error_dict["policy_critical"]
            self.assertEqual(error.code, "policy_floor")
        self.acme.refresh_from_db()
        self.assertEqual(self.acme.policy_critical, "phone_totp")

    def test_the_dashboard_refuses_and_explains(self):
        url = reverse("admin:ony_organization_change", args=[self.acme.pk])
        r = self.client_for(self.alice).post(url, org_form(policy_critical="approve"))
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "Critical actions always go to a person")
        self.acme.refresh_from_db()
        self.assertEqual(self.acme.policy_critical, "phone_totp")
        self.assertFalse(AuditEntry.objects.for_org(self.acme).filter(event="org.updated").exists())

    def test_critical_and_unknown_actions_wait_for_a_person_whatever_is_stored(self):
        self.store_below_the_floor()
        laptop = enroll_device(self.acme).device
        for action in ("deploy.production", "db.drop", "something.nobody.knows"):
            with self.subTest(action):
                handoff = make_handoff(laptop, action)
                self.assertEqual((handoff.risk, handoff.status), ("critical", Status.PENDING))
                self.assertIsNone(handoff.verdict)
                self.assertTrue(handoffs.needs_otp(handoff))

    def test_the_migration_raises_stored_policies_to_the_floor(self):
        self.store_below_the_floor()
        floor_migration.repair_critical_policies(apps, None)
        self.acme.refresh_from_db()
        self.assertEqual(self.acme.policy_critical, "phone_totp")

    def test_the_system_check_warns_about_a_stored_policy_below_the_floor(self):
        self.assertEqual(check_policy_floor(databases=["default"]), [])
        self.store_below_the_floor()
        [warning] = check_policy_floor(databases=["default"])
        self.assertEqual(warning.id, "ony.W010")
        self.assertIn("acme", warning.msg)
        out = StringIO()
        with self.settings(ONY_TELEPHONY_SIMULATOR=True):  # no telephony.E001 beside it
            call_command("check", "--database", "default", stdout=out, stderr=out)
        self.assertIn("ony.W010", out.getvalue())

    def test_it_audits_the_old_and_new_values_of_policy_deadline_and_overrides(self):
        org_services.update_organization(
            self.acme,
            actor=self.alice_m.public_id,
            name="Acme Inc",
            policy_high="approve",
            deadline_seconds_high=300,
            risk_overrides={"deploy.staging": "high"},
        )
        entry = AuditEntry.objects.for_org(self.acme).get(event="org.updated")
        self.assertEqual(
            entry.data,
            {
                "fields": ["deadline_seconds_high", "name", "policy_high", "risk_overrides"],
                "changes": {
                    "deadline_seconds_high": {"from": 600, "to": 300},
                    "policy_high": {"from": "phone", "to": "approve"},
                    "risk_overrides": {"from": {}, "to": {"deploy.staging": "high"}},
                },
            },
        )
