"""The dashboard's index: what waits, who is on call, devices seen, the chains; live and scoped."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from audit import services as audit
from audit.verification import verify_org
from devices.models import Device
from ony.models import User
from tests.base import OnyTestCase, enroll_device, make_handoff


class DashboardIndexTests(OnyTestCase):
    def setUp(self) -> None:
        self.laptop = enroll_device(self.acme, "build-laptop").device
        self.bob_m.oncall_order, self.alice_m.oncall_order = 1, 2
        self.bob_m.save()
        self.alice_m.save()

    def test_the_sites_root_leads_to_it_through_the_login(self):
        response = self.client.get("/")
        self.assertRedirects(response, "/admin/", fetch_redirect_response=False)
        self.assertRedirects(self.client.get("/", follow=True), "/admin/login/?next=/admin/")

    def test_it_shows_what_waits_most_urgent_first(self):
        later = make_handoff(self.laptop, "db.migrate", target="orders-db")
        sooner = make_handoff(self.laptop, "deploy.production", target="prod-api")
        type(sooner).objects.filter(pk=sooner.pk).update(deadline=timezone.now())
        page = self.client_for(self.carol).get(reverse("admin:index"))
        self.assertContains(page, "Waiting for a person")
        self.assertContains(page, 'data-pending="2"')
        self.assertContains(page, "<title>(2) ")
        html = page.content.decode()
        self.assertLess(html.index("prod-api"), html.index("orders-db"))
        self.assertContains(page, reverse("admin:handoffs_handoff_change", args=[later.pk]))

    def test_it_shows_who_is_on_call_and_whether_they_can_be_phoned(self):
        User.objects.filter(pk=self.alice.pk).update(is_active=False)
        panels = self.client_for(self.bob).get(reverse("dashboard-panels")).content.decode()
        bob = panels.index("bob@acme.test")
        alice = panels.index("alice@acme.test")
        self.assertLess(bob, alice)  # call order
        self.assertIn("+1 *** *** 0102", panels)
        self.assertNotIn("4155550102", panels)
        self.assertIn("not called: deactivated", panels[alice:])
        self.assertIn("callable", panels[bob:alice])

    def test_it_shows_devices_seen_in_the_last_hour_and_each_chains_state(self):
        Device.objects.filter(pk=self.laptop.pk).update(last_seen_at=timezone.now())
        enroll_device(self.acme, "old-laptop")  # never seen
        audit.checkpoint(self.acme)
        verify_org(self.acme)
        panels = self.client_for(self.carol).get(reverse("dashboard-panels")).content.decode()
        self.assertIn("build-laptop", panels)
        self.assertNotIn("old-laptop", panels)
        self.assertIn("Verified", panels)
        self.assertIn("Last checkpoint #", panels)

    def test_another_organization_sees_none_of_it(self):
        make_handoff(self.laptop, "db.migrate", target="orders-db")
        Device.objects.filter(pk=self.laptop.pk).update(last_seen_at=timezone.now())
        page = self.client_for(self.gina).get(reverse("admin:index")).content.decode()
        for secret in ("orders-db", "build-laptop", "bob@acme.test", "Acme", 'data-pending="1"'):
            self.assertNotIn(secret, page)
        self.assertIn('data-pending="0"', page)

    def test_the_panels_need_a_verified_login(self):
        response = self.client.get(reverse("dashboard-panels"))
        self.assertEqual(response.status_code, 302)
        self.assertIn("/admin/login/", response["Location"])
