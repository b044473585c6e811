"""Roles inside one organization: viewers read, members cannot manage people, admins can."""

from __future__ import annotations

from django.urls import reverse

from ony.models import Membership, User
from ony.roles import Role
from tests.base import OnyTestCase
from tests.test_admin_tenancy import member_form


def org_form(**changes: object) -> dict[str, object]:
    data = {
        "name": "Acme",
        "timezone": "UTC",
        "deadline_seconds_low": 120,
        "deadline_seconds_medium": 300,
        "deadline_seconds_high": 600,
        "deadline_seconds_critical": 600,
        "policy_low": "approve",
        "policy_medium": "ask",
        "policy_high": "phone",
        "policy_critical": "phone_totp",
        "chat_low": "with_call",
        "chat_medium": "with_call",
        "chat_high": "with_call",
        "chat_critical": "with_call",
        "risk_overrides": "{}",
        "payload_retention_days": 30,
        "detail_retention_days": 90,
    }
    data.update(changes)
    return data


class RoleTests(OnyTestCase):
    def add_url(self):
        return reverse("admin:ony_membership_add")

    def change_url(self, membership):
        return reverse("admin:ony_membership_change", args=[membership.pk])

    def new_member(self, **extra):
        return {"org": self.acme.pk, "email": "dave@acme.test", "role": Role.MEMBER, **extra}

    def test_it_lets_an_admin_add_a_member_by_email(self):
        r = self.client_for(self.alice).post(
            self.add_url(), self.new_member(phone="+1 (415) 555-0104", oncall_order=2)
        )
        self.assertEqual(r.status_code, 302)
        dave = Membership.objects.get(user__email="dave@acme.test")
        self.assertEqual((dave.org, dave.role), (self.acme, Role.MEMBER))
        self.assertEqual(dave.phone, "+14155550104")  # stored in E.164
        self.assertEqual(dave.oncall_order, 2)
        self.assertTrue(dave.user.is_staff)
        self.assertFalse(dave.user.has_usable_password())

    def test_it_rejects_a_phone_number_that_is_not_international(self):
        r = self.client_for(self.alice).post(self.add_url(), self.new_member(phone="4155550104"))
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "international form")
        self.assertFalse(User.objects.filter(email="dave@acme.test").exists())

    def test_it_rejects_a_second_membership_in_the_same_org(self):
        data = {"org": self.acme.pk, "email": "BOB@acme.test", "role": Role.ADMIN}
        r = self.client_for(self.alice).post(self.add_url(), data)
        self.assertContains(r, "already a member")
        self.bob_m.refresh_from_db()
        self.assertEqual(self.bob_m.role, Role.MEMBER)

    def test_it_lets_an_admin_change_a_role(self):
        r = self.client_for(self.alice).post(
            self.change_url(self.carol_m), member_form(self.carol_m, role=Role.MEMBER)
        )
        self.assertEqual(r.status_code, 302)
        self.carol_m.refresh_from_db()
        self.assertEqual(self.carol_m.role, Role.MEMBER)

    def test_it_lets_an_admin_remove_a_member(self):
        url = reverse("admin:ony_membership_delete", args=[self.carol_m.pk])
        self.client_for(self.alice).post(url, {"post": "yes"})
        self.assertFalse(Membership.objects.filter(pk=self.carol_m.pk).exists())
        self.assertTrue(User.objects.filter(pk=self.carol.pk).exists())

    def test_it_keeps_the_last_admin(self):
        client = self.client_for(self.alice)
        r = client.post(self.change_url(self.alice_m), member_form(self.alice_m, role=Role.VIEWER))
        self.assertContains(r, "at least one admin")
        url = reverse("admin:ony_membership_delete", args=[self.alice_m.pk])
        client.post(url, {"post": "yes"})
        self.alice_m.refresh_from_db()
        self.assertEqual(self.alice_m.role, Role.ADMIN)

    def test_it_stops_a_member_managing_members(self):
        client = self.client_for(self.bob)
        self.assertEqual(client.get(self.add_url()).status_code, 403)
        self.assertEqual(client.post(self.add_url(), self.new_member()).status_code, 403)
        r = client.post(self.change_url(self.bob_m), member_form(self.bob_m, role=Role.ADMIN))
        self.assertEqual(r.status_code, 403)
        url = reverse("admin:ony_membership_delete", args=[self.carol_m.pk])
        self.assertEqual(client.post(url, {"post": "yes"}).status_code, 403)
        self.bob_m.refresh_from_db()
        self.assertEqual(self.bob_m.role, Role.MEMBER)
        self.assertFalse(User.objects.filter(email="dave@acme.test").exists())
        self.assertTrue(Membership.objects.filter(pk=self.carol_m.pk).exists())

    def test_it_stops_a_viewer_changing_anything(self):
        client = self.client_for(self.carol)
        r = client.post(self.change_url(self.carol_m), member_form(self.carol_m, role=Role.ADMIN))
        self.assertEqual(r.status_code, 403)
        r = client.post(
            reverse("admin:ony_organization_change", args=[self.acme.pk]),
            {"name": "Renamed", "timezone": "UTC"},
        )
        self.assertEqual(r.status_code, 403)
        self.assertEqual(client.post(self.add_url(), self.new_member()).status_code, 403)
        self.carol_m.refresh_from_db()
        self.acme.refresh_from_db()
        self.assertEqual((self.carol_m.role, self.acme.name), (Role.VIEWER, "Acme"))

    def test_it_shows_a_viewer_the_team_read_only_with_masked_phones(self):
        r = self.client_for(self.carol).get(reverse("admin:ony_membership_changelist"))
        self.assertContains(r, "+1 *** *** 0102")
        self.assertNotContains(r, "+14155550102")
        self.assertNotContains(r, reverse("admin:ony_membership_add"))

    def test_it_lets_an_org_admin_edit_settings_but_not_create_orgs(self):
        client = self.client_for(self.alice)
        url = reverse("admin:ony_organization_change", args=[self.acme.pk])
        data = org_form(
            name="Acme Inc",
            slug="hijacked",
            timezone="Europe/Berlin",
            deadline_seconds_critical=900,
            risk_overrides='{"deploy.staging": "high"}',
        )
        self.assertEqual(client.post(url, data).status_code, 302)
        self.acme.refresh_from_db()
        self.assertEqual((self.acme.name, self.acme.timezone), ("Acme Inc", "Europe/Berlin"))
        self.assertEqual(self.acme.slug, "acme")  # read-only once created
        self.assertEqual(self.acme.deadline_seconds("critical"), 900)
        self.assertEqual(self.acme.risk_overrides, {"deploy.staging": "high"})
        self.assertEqual(client.get(reverse("admin:ony_organization_add")).status_code, 403)
        entry = self.acme.audit_entries.order_by("-seq").first()
        self.assertEqual(entry.event, "org.updated")
        self.assertEqual(
            entry.data["fields"],
            ["deadline_seconds_critical", "name", "risk_overrides", "timezone"],
        )

    def test_it_refuses_an_override_that_lowers_a_risk(self):
        url = reverse("admin:ony_organization_change", args=[self.acme.pk])
        for overrides, message in [
            ('{"deploy.production": "low"}', "never lower it"),
            ('{"no.such.action": "high"}', "not an action of the taxonomy"),
            ('{"deploy.staging": "extreme"}', "is not a risk"),
            ('["deploy.staging"]', "id_risk_overrides_error"),
        ]:
            with self.subTest(overrides):
                r = self.client_for(self.alice).post(url, org_form(risk_overrides=overrides))
                self.assertContains(r, message)
        self.acme.refresh_from_db()
        self.assertEqual(self.acme.risk_overrides, {})

    def test_it_caps_deadlines_at_fifteen_minutes(self):
        url = reverse("admin:ony_organization_change", args=[self.acme.pk])
        r = self.client_for(self.alice).post(url, org_form(deadline_seconds_critical=901))
        self.assertEqual(r.status_code, 200)
        self.acme.refresh_from_db()
        self.assertEqual(self.acme.deadline_seconds("critical"), 600)
