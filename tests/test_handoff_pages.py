"""Handoff pages in the dashboard: scoped by organization, payloads by role, one decision."""

from __future__ import annotations

import threading
import unittest

from django.db import connection
from django.test import TransactionTestCase
from django.urls import reverse

from audit.events import SYSTEM
from handoffs import services
from handoffs.models import Handoff, Status
from ony import services as org_services
from ony.models import TOTPDevice
from ony.roles import Role
from telephony.models import CallAttempt
from tests.base import (
    OnyTestCase,
    current_code,
    enroll_device,
    make_handoff,
    make_person,
    run_together,
    verified_client,
)

PAYLOAD = "diff --git a/db/schema.sql b/db/schema.sql\n+DROP TABLE invoices;"


class HandoffPageTests(OnyTestCase):
    def setUp(self) -> None:
        self.handoff = make_handoff(enroll_device(self.acme).device, "db.migrate", payload=PAYLOAD)
        self.page = reverse("admin:handoffs_handoff_change", args=[self.handoff.pk])

    def test_another_organizations_people_see_nothing_of_it(self):
        for user in (self.gina, self.gus):
            with self.subTest(user.email):
                client = self.client_for(user)
                self.assertEqual(client.get(self.page).status_code, 404)
                listing = client.get(reverse("admin:handoffs_handoff_changelist"))
                self.assertNotContains(listing, self.handoff.public_id)
                decided = client.post(self.page, {"decision": "approve"})
                self.assertEqual(decided.status_code, 404)
        self.handoff.refresh_from_db()
        self.assertEqual(self.handoff.status, Status.PENDING)

    def test_members_and_admins_read_the_payload_viewers_only_if_the_org_lets_them(self):
        for user, shown in ((self.alice, True), (self.bob, True), (self.carol, False)):
            with self.subTest(user.email):
                page = self.client_for(user).get(self.page).content.decode()
                self.assertEqual("DROP TABLE invoices" in page, shown)
                self.assertIn(self.handoff.payload_sha256, page)  # its hash, always
        org_services.update_organization(self.acme, actor=SYSTEM, viewers_read_payloads=True)
        self.assertContains(self.client_for(self.carol).get(self.page), "DROP TABLE invoices")

    def test_a_viewer_cannot_decide_even_by_posting(self):
        response = self.client_for(self.carol).post(self.page, {"decision": "approve"})
        self.assertContains(response, "Your role may not decide")
        self.assertNotContains(response, 'id="decide"')
        self.handoff.refresh_from_db()
        self.assertEqual(self.handoff.status, Status.PENDING)

    def test_a_member_decides_in_the_dashboard(self):
        response = self.client_for(self.bob).post(self.page, {"decision": "deny"})
        self.assertRedirects(response, self.page, fetch_redirect_response=False)
        self.handoff.refresh_from_db()
        self.assertEqual(
            (self.handoff.status, self.handoff.decided_via, self.handoff.decided_by),
            (Status.DENIED, "dashboard", self.bob_m),
        )
        self.assertEqual(self.handoff.verdict["decided_via"], "dashboard")
        again = self.client_for(self.alice).post(self.page, {"decision": "approve"}, follow=True)
        self.assertContains(again, "already denied")

    def test_the_calls_about_it_are_listed_with_numbers_masked(self):
        CallAttempt.objects.create(org=self.acme, handoff=self.handoff, member=self.alice_m)
        page = self.client_for(self.bob).get(self.page)
        self.assertContains(page, 'id="calls"')
        self.assertContains(page, "+1 *** *** 0101")
        self.assertNotContains(page, self.alice_m.phone)

    def test_a_code_is_typed_as_apps_show_it_and_a_malformed_one_is_explained(self):
        critical = make_handoff(enroll_device(self.acme).device, "deploy.production")
        page = reverse("admin:handoffs_handoff_change", args=[critical.pk])
        client = self.client_for(self.bob)
        for malformed in (
            "12345",
            "\uff11\uff12\uff13\uff14\uff15\uff16",
            "12a456",
        ):  # full-width too
            with self.subTest(malformed):
                response = client.post(page, {"decision": "approve", "otp": malformed})
                self.assertContains(response, "An authenticator code is 6 digits.")
        code = current_code(TOTPDevice.objects.get(user=self.bob))
        response = client.post(page, {"decision": "approve", "otp": f"{code[:3]} {code[3:]}"})
        self.assertRedirects(response, page, fetch_redirect_response=False)
        critical.refresh_from_db()
        self.assertEqual((critical.status, critical.decided_by), (Status.APPROVED, self.bob_m))

    def test_the_inbox_hides_policy_decisions_until_asked(self):
        low = make_handoff(enroll_device(self.acme, "ci").device, "test.run", title="Run the tests")
        inbox = reverse("admin:handoffs_handoff_changelist")
        self.assertNotContains(self.client_for(self.bob).get(inbox), "Run the tests")
        shown = self.client_for(self.bob).get(inbox + "?policy=shown")
        self.assertContains(shown, "Run the tests")
        html = shown.content.decode()
        self.assertLess(html.index(self.handoff.title), html.index(low.title))  # pending first
        found = self.client_for(self.bob).get(inbox + f"?policy=shown&q={low.public_id}")
        self.assertContains(found, "Run the tests")
        self.assertNotContains(found, self.handoff.title)


@unittest.skipUnless(connection.vendor == "postgresql", "row locks need PostgreSQL")
class DashboardRacesPhoneTests(TransactionTestCase):
    def test_a_dashboard_decision_and_a_keypad_decision_one_wins(self):
        acme = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        alice = make_person(acme, "alice@acme.test", Role.ADMIN)
        bob = make_person(acme, "bob@acme.test", Role.MEMBER)
        handoff = make_handoff(enroll_device(acme).device, "db.migrate")
        page = reverse("admin:handoffs_handoff_change", args=[handoff.pk])
        outcomes: list[str] = []
        barrier = threading.Barrier(2)

        def by_dashboard() -> None:
            client = verified_client(alice.user)
            barrier.wait()
            response = client.post(page, {"decision": "approve"}, follow=True)
            outcomes.append("won" if "Approved." in response.content.decode() else "lost")

        def by_keypad() -> None:
            barrier.wait()
            try:
                services.decide(handoff, "deny", via="ivr", actor=bob.public_id, by=bob)
                outcomes.append("won")
            except services.HandoffError:
                outcomes.append("lost")

        run_together(by_dashboard, by_keypad)
        self.assertEqual(sorted(outcomes), ["lost", "won"])
        stored = Handoff.objects.get(pk=handoff.pk)
        self.assertNotEqual(stored.status, Status.PENDING)
        self.assertEqual(
            Handoff.objects.get(pk=handoff.pk).verdict["decided_via"], stored.decided_via
        )
