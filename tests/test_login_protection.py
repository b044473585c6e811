"""Guessing at the dashboard login: one answer for every failure, lockouts, separate throttles."""

from __future__ import annotations

import re

from django.test import Client

from ony import api_tokens
from ony.admin_base import LOGIN_REFUSED
from ony.models import TOTPDevice
from tests.base import OnyTestCase, current_code, enroll_device, make_handoff
from tests.test_admin_login import login

LIMIT = 5  # ONY_LOGIN_FAILURE_LIMIT's default


def wrong(code: str) -> str:
    return str((int(code) + 500_000) % 1_000_000).zfill(6)


def from_address(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


class LoginAnswerTests(OnyTestCase):
    def test_every_failure_gets_the_same_answer(self):
        device = TOTPDevice.objects.get(user=self.alice)
        code = current_code(device)
        answers = {
            "wrong password": login(Client(), "alice@acme.test", password="nope", code=code),
            "wrong code": login(Client(), "alice@acme.test", code=wrong(code)),
            "no code": login(Client(), "alice@acme.test"),
            "no such person": login(Client(), "nobody@acme.test", code=code),
        }
        notes = set()
        for what, response in answers.items():
            with self.subTest(what):
                self.assertEqual(response.status_code, 200)
                page = response.content.decode()
                self.assertIn(LOGIN_REFUSED.split(".")[0], page)
                self.assertNotIn("token", page.lower().split("<form")[0])
                notes.add(re.search(r'<p class="errornote">(.*?)</p>', page, re.S).group(1).strip())
        self.assertEqual(len(notes), 1, notes)


class LockoutTests(OnyTestCase):
    def setUp(self) -> None:
        self.device = TOTPDevice.objects.get(user=self.alice)

    def test_an_account_is_locked_after_repeated_failures_from_any_address(self):
        for n in range(LIMIT):
            login(from_address(f"198.51.100.{n}"), "Alice@Acme.test", password="guess")
        locked = login(
            from_address("203.0.113.9"), "alice@acme.test", code=current_code(self.device)
        )
        self.assertEqual(locked.status_code, 429)
        self.assertContains(locked, "Login locked", status_code=429)
        self.assertContains(locked, "Approving by phone", status_code=429)
        self.assertNotIn("sessionid", locked.cookies)
        other = login(
            Client(), "bob@acme.test", code=current_code(TOTPDevice.objects.get(user=self.bob))
        )
        self.assertEqual(other.status_code, 302)  # only that account

    def test_wrong_codes_count_as_failed_logins(self):
        for _ in range(LIMIT):
            login(Client(), "alice@acme.test", code="000000")
        self.device.refresh_from_db()
        locked = login(Client(), "alice@acme.test", code=current_code(self.device))
        self.assertEqual(locked.status_code, 429)

    def test_an_address_is_locked_after_failures_across_accounts(self):
        for n in range(LIMIT):
            login(from_address("198.51.100.7"), f"person{n}@acme.test", password="guess")
        bob_code = current_code(TOTPDevice.objects.get(user=self.bob))
        self.assertEqual(
            login(from_address("198.51.100.7"), "bob@acme.test", code=bob_code).status_code, 429
        )
        self.assertEqual(
            login(from_address("198.51.100.8"), "bob@acme.test", code=bob_code).status_code, 302
        )

    def test_logging_in_to_ones_own_account_does_not_wipe_the_guesses_at_another(self):
        attacker = from_address("198.51.100.66")
        bob_device = TOTPDevice.objects.get(user=self.bob)
        for _ in range(2):
            for _ in range(2):
                login(attacker, "alice@acme.test", password="guess")
            attacker.logout()
            bob_device.refresh_from_db()
            login(attacker, "bob@acme.test", code=current_code(bob_device, steps_ahead=0))
            attacker.logout()
            TOTPDevice.objects.filter(pk=bob_device.pk).update(last_t=-1)  # a fresh code next
        login(attacker, "alice@acme.test", password="guess")  # the fifth guess at Alice
        elsewhere = login(Client(), "alice@acme.test", code=current_code(self.device))
        self.assertEqual(elsewhere.status_code, 429)

    def test_a_very_long_name_is_a_failed_login_not_an_error(self):
        response = login(Client(), "a" * 300 + "@acme.test", password="guess")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, LOGIN_REFUSED.split(".")[0])

    def test_a_locked_login_never_blocks_approving(self):
        bob_device = TOTPDevice.objects.get(user=self.bob)
        for _ in range(LIMIT + 2):
            login(Client(), "bob@acme.test", code="000000")
        self.assertEqual(
            login(Client(), "bob@acme.test", code=current_code(bob_device)).status_code, 429
        )
        bob_device.refresh_from_db()
        self.assertGreater(bob_device.throttling_failure_count, 0)  # the login throttle
        handoff = make_handoff(enroll_device(self.acme).device)  # critical: needs a code
        _, token = api_tokens.create(self.bob, "cli")
        r = Client().post(
            f"/api/v1/handoffs/{handoff.public_id}/decision",
            {"decision": "approve", "otp": current_code(bob_device)},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
        )
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(r.json()["status"], "approved")


class DecisionThrottleTests(OnyTestCase):
    def test_wrong_decision_codes_are_throttled_and_reported_as_such(self):
        handoff = make_handoff(enroll_device(self.acme).device)
        bob_device = TOTPDevice.objects.get(user=self.bob)
        _, token = api_tokens.create(self.bob, "cli")

        def approve(code: str):
            return Client().post(
                f"/api/v1/handoffs/{handoff.public_id}/decision",
                {"decision": "approve", "otp": code},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Token {token}",
            )

        code = current_code(bob_device)
        r = approve(wrong(code))
        self.assertEqual((r.status_code, r.json()["code"]), (403, "invalid_otp"))
        r = approve(code)  # right, but too soon after a wrong one: not even checked
        self.assertEqual((r.status_code, r.json()["code"]), (429, "otp_throttled"))
        bob_device.refresh_from_db()
        self.assertEqual((bob_device.decision_failures, bob_device.last_t), (1, -1))
        self.assertEqual(bob_device.throttling_failure_count, 0)  # logins are not affected
        TOTPDevice.objects.filter(pk=bob_device.pk).update(decision_failed_at=None)
        self.assertEqual(approve(code).status_code, 200)
