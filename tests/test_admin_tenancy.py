"""Cross-tenant isolation in the dashboard: Acme's people never reach Globex."""

from __future__ import annotations

from django.urls import reverse

from ony.models import Membership, Organization
from ony.roles import Role
from tests.base import OnyTestCase, make_person


def member_form(membership: Membership, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "role": membership.role,
        "phone": membership.phone,
        "timezone": membership.timezone,
        "oncall_order": membership.oncall_order or "",
        "telegram_chat_id": membership.telegram_chat_id,
        "slack_user_id": membership.slack_user_id,
    }
    data.update(changes)
    return data


class CrossTenantAdminTests(OnyTestCase):
    def acme_people(self):
        return [self.alice, self.bob, self.carol]

    def test_it_lists_only_own_members_for_every_role(self):
        for user in self.acme_people():
            r = self.client_for(user).get(reverse("admin:ony_membership_changelist"))
            self.assertEqual(r.status_code, 200)
            self.assertContains(r, "bob@acme.test")
            self.assertNotContains(r, "gina@globex.test")
            self.assertNotContains(r, "gus@globex.test")
            self.assertNotContains(r, "Globex")  # not even as a filter choice

    def test_it_lists_only_own_organizations_for_every_role(self):
        for user in self.acme_people():
            r = self.client_for(user).get(reverse("admin:ony_organization_changelist"))
            self.assertContains(r, "Acme")
            self.assertNotContains(r, "Globex")

    def test_it_does_not_show_another_orgs_member(self):
        url = reverse("admin:ony_membership_change", args=[self.gina_m.pk])
        for user in self.acme_people():
            r = self.client_for(user).get(url, follow=True)
            self.assertNotContains(r, "gina@globex.test")
            self.assertNotContains(r, self.gina_m.phone)
            self.assertEqual(r.redirect_chain[0][0], reverse("admin:index"))

    def test_it_does_not_show_another_org(self):
        url = reverse("admin:ony_organization_change", args=[self.globex.pk])
        for user in self.acme_people():
            r = self.client_for(user).get(url, follow=True)
            self.assertEqual(r.redirect_chain[0][0], reverse("admin:index"))
            self.assertNotContains(r, "Globex")

    def test_it_does_not_change_another_orgs_member(self):
        url = reverse("admin:ony_membership_change", args=[self.gus_m.pk])
        form = member_form(self.gus_m, role=Role.VIEWER, phone="+14155550199")
        for user in self.acme_people():
            self.client_for(user).post(url, form)
        self.gus_m.refresh_from_db()
        self.assertEqual(self.gus_m.role, Role.MEMBER)
        self.assertEqual(self.gus_m.phone, "+442079460202")

    def test_it_does_not_change_another_org(self):
        url = reverse("admin:ony_organization_change", args=[self.globex.pk])
        for user in self.acme_people():
            self.client_for(user).post(url, {"name": "Pwned", "timezone": "UTC"})
        self.globex.refresh_from_db()
        self.assertEqual(self.globex.name, "Globex")

    def test_it_does_not_delete_another_orgs_member(self):
        url = reverse("admin:ony_membership_delete", args=[self.gus_m.pk])
        for user in self.acme_people():
            self.client_for(user).post(url, {"post": "yes"})
        self.assertTrue(Membership.objects.filter(pk=self.gus_m.pk).exists())

    def test_it_does_not_bulk_delete_another_orgs_member(self):
        url = reverse("admin:ony_membership_changelist")
        data = {"action": "delete_selected", "_selected_action": [self.gus_m.pk], "post": "yes"}
        for user in self.acme_people():
            self.client_for(user).post(url, data)
        self.assertTrue(Membership.objects.filter(pk=self.gus_m.pk).exists())

    def test_it_does_not_add_members_to_another_org(self):
        url = reverse("admin:ony_membership_add")
        data = {"org": self.globex.pk, "email": "mallory@evil.test", "role": Role.ADMIN}
        for user in self.acme_people():
            r = self.client_for(user).post(url, data)
            self.assertIn(r.status_code, (200, 403))
        self.assertFalse(Membership.objects.filter(user__email="mallory@evil.test").exists())

    def test_it_offers_only_managed_orgs_when_adding(self):
        r = self.client_for(self.alice).get(reverse("admin:ony_membership_add"))
        self.assertContains(r, "Acme")
        self.assertNotContains(r, "Globex")
        # No list of the installation's users: people are added by email.
        self.assertNotContains(r, "gina@globex.test")

    def test_it_stops_an_admin_granting_themself_rights_in_another_org(self):
        # Alice administers Acme and is only a viewer in Globex.
        alice_in_globex = make_person(self.globex, "alice@acme.test", Role.VIEWER)
        client = self.client_for(self.alice)

        # 1. Promote her own Globex membership.
        url = reverse("admin:ony_membership_change", args=[alice_in_globex.pk])
        r = client.post(url, member_form(alice_in_globex, role=Role.ADMIN))
        self.assertEqual(r.status_code, 403)

        # 2. Add herself to Globex again as admin.
        data = {"org": self.globex.pk, "email": "alice@acme.test", "role": Role.ADMIN}
        client.post(reverse("admin:ony_membership_add"), data)

        # 3. Move her Acme admin membership over to Globex.
        url = reverse("admin:ony_membership_change", args=[self.alice_m.pk])
        client.post(url, {**member_form(self.alice_m), "org": self.globex.pk})

        alice_in_globex.refresh_from_db()
        self.assertEqual(alice_in_globex.role, Role.VIEWER)
        self.assertEqual(Membership.objects.filter(user=self.alice, org=self.globex).count(), 1)
        self.alice_m.refresh_from_db()
        self.assertEqual(self.alice_m.org, self.acme)

    def test_it_lets_a_viewer_in_another_org_see_but_not_touch_it(self):
        alice_in_globex = make_person(self.globex, "alice@acme.test", Role.VIEWER)
        client = self.client_for(self.alice)
        r = client.get(reverse("admin:ony_membership_changelist"))
        self.assertContains(r, "gus@globex.test")
        r = client.post(
            reverse("admin:ony_membership_change", args=[self.gus_m.pk]),
            member_form(self.gus_m, role=Role.VIEWER),
        )
        self.assertEqual(r.status_code, 403)
        # A bulk delete mixing an org she manages with one she only reads is refused whole.
        data = {
            "action": "delete_selected",
            "_selected_action": [self.gus_m.pk, self.carol_m.pk],
            "post": "yes",
        }
        r = client.post(reverse("admin:ony_membership_changelist"), data)
        self.assertEqual(r.status_code, 403)
        self.assertTrue(
            Membership.objects.filter(pk__in=[self.gus_m.pk, self.carol_m.pk]).count() == 2
        )
        self.assertEqual(alice_in_globex.role, Role.VIEWER)

    def test_it_hides_installation_wide_pages_from_org_admins(self):
        client = self.client_for(self.alice)
        for name in ("admin:ony_user_changelist", "admin:ony_totpdevice_changelist"):
            self.assertEqual(client.get(reverse(name)).status_code, 403)
        r = client.get(reverse("admin:ony_user_change", args=[self.gina.pk]))
        self.assertEqual(r.status_code, 403)

    def test_it_lets_a_superuser_operate_every_org(self):
        root = make_person(self.acme, "root@ony.test", Role.VIEWER).user
        root.is_superuser = True
        root.save()
        r = self.client_for(root).get(reverse("admin:ony_organization_changelist"))
        self.assertContains(r, "Globex")
        self.assertEqual(Organization.objects.for_user(root).count(), 2)
