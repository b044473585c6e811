"""Dashboard login: email, password and a TOTP code; each code works once."""

from __future__ import annotations

import threading
import unittest

from django.db import connection
from django.test import Client, TransactionTestCase
from django.urls import reverse

from audit.events import SYSTEM
from ony import services
from ony.models import TOTPDevice
from ony.roles import Role
from tests.base import PASSWORD, OnyTestCase, current_code, make_person, run_together


def login(client: Client, email: str, password: str = PASSWORD, code: str = ""):
    return client.post(
        reverse("admin:login"),
        {"username": email, "password": password, "otp_token": code, "next": "/admin/"},
    )


class LoginTests(OnyTestCase):
    def setUp(self):
        self.device = TOTPDevice.objects.get(user=self.alice)

    def test_it_logs_in_with_password_and_code(self):
        client = Client()
        r = login(client, "Alice@Acme.test", code=current_code(self.device))
        self.assertRedirects(r, "/admin/", fetch_redirect_response=False)
        r = client.get("/admin/")
        self.assertContains(r, "Memberships")
        self.device.refresh_from_db()
        self.assertGreaterEqual(self.device.last_t, 0)
        self.assertIsNotNone(self.device.last_used_at)

    def test_it_shows_the_license_and_source_link(self):
        with self.settings(ONY_SOURCE_URL="https://example.test/ony.git"):
            r = Client().get(reverse("admin:login"))
        self.assertContains(r, "GNU AGPL-3.0")
        self.assertContains(r, 'href="https://example.test/ony.git"')
        self.assertContains(r, 'autocomplete="one-time-code"')

    def test_it_refuses_a_login_without_a_code(self):
        client = Client()
        r = login(client, "alice@acme.test")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(client.get("/admin/").status_code, 302)

    def test_it_refuses_a_wrong_code_and_counts_it(self):
        client = Client()
        wrong = str((int(current_code(self.device)) + 1) % 1_000_000).zfill(6)
        r = login(client, "alice@acme.test", code=wrong)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(client.get("/admin/").status_code, 302)
        self.device.refresh_from_db()
        self.assertEqual(self.device.throttling_failure_count, 1)

    def test_it_refuses_a_wrong_password_with_a_good_code(self):
        r = login(Client(), "alice@acme.test", password="nope", code=current_code(self.device))
        self.assertEqual(r.status_code, 200)
        self.device.refresh_from_db()
        self.assertEqual(self.device.last_t, -1)  # the code was not spent

    def test_it_accepts_a_code_only_once(self):
        code = current_code(self.device)
        self.assertEqual(login(Client(), "alice@acme.test", code=code).status_code, 302)
        self.assertEqual(login(Client(), "alice@acme.test", code=code).status_code, 200)

    def test_it_throttles_after_a_failure(self):
        self.assertFalse(self.device.verify_token("000000"))
        # Even the right code is refused while throttled, and does not count again.
        self.assertFalse(self.device.verify_token(current_code(self.device)))
        self.device.refresh_from_db()
        self.assertEqual(self.device.throttling_failure_count, 1)
        self.assertEqual(self.device.last_t, -1)

    def test_it_does_not_let_an_unverified_session_in(self):
        client = Client()
        client.force_login(self.alice)  # password only, no code
        self.assertEqual(client.get("/admin/").status_code, 302)
        self.assertEqual(client.get(reverse("admin:ony_membership_changelist")).status_code, 302)

    def test_it_does_not_let_a_staff_user_without_membership_in(self):
        user = make_person(self.acme, "drifter@acme.test", Role.VIEWER).user
        services.remove_member(user.memberships.get(), actor=SYSTEM)
        self.assertEqual(self.client_for(user).get("/admin/").status_code, 302)


@unittest.skipIf(connection.vendor == "sqlite", "row locks need PostgreSQL")
class ConcurrentCodeTests(TransactionTestCase):
    """Two requests racing with the same valid code: exactly one wins."""

    def test_it_accepts_a_code_once_under_concurrency(self):
        org = services.create_organization(name="Race", slug="race", actor=SYSTEM)
        device = TOTPDevice.objects.get(user=make_person(org, "r@race.test", Role.ADMIN).user)
        code = current_code(device)
        results: list[bool] = []
        barrier = threading.Barrier(4)

        def attempt() -> None:
            barrier.wait()
            results.append(TOTPDevice.objects.get(pk=device.pk).verify_token(code))

        run_together(attempt, attempt, attempt, attempt)
        self.assertEqual(sorted(results), [False, False, False, True])
