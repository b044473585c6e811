"""`manage.py seed_demo`: the demo org and a login that works, however often it runs."""

from __future__ import annotations

import re
from base64 import b32decode
from io import StringIO

from django.core.management import call_command
from django.test import Client, TestCase, override_settings
from django_otp.oath import TOTP

from ony.models import Membership, Organization, TOTPDevice, User


def seed(*args: str) -> dict[str, str]:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    text = out.getvalue()
    fields = dict(re.findall(r"^(Login|Password|TOTP secret):\s+(\S+)$", text, re.M))
    uri = re.search(r"otpauth://\S+", text)
    assert uri is not None, text
    fields["uri"] = uri.group(0)
    return fields


class SeedDemoTests(TestCase):
    def test_it_creates_the_demo_org_and_a_working_login(self):
        printed = seed("--no-qr")
        self.assertEqual(printed["Login"], "admin@demo.local")
        org = Organization.objects.get(slug="demo")
        admin = Membership.objects.for_org(org).get(user__email="admin@demo.local")
        self.assertEqual(admin.role, "admin")
        self.assertTrue(admin.callable)  # the simulator's softphone rings for the demo admin
        self.assertEqual((admin.oncall_order, admin.phone), (1, "+14155550100"))
        self.assertIn(f"secret={printed['TOTP secret']}", printed["uri"])

        code = str(TOTP(b32decode(printed["TOTP secret"])).token()).zfill(6)
        client = Client()
        r = client.post(
            "/admin/login/",
            {"username": printed["Login"], "password": printed["Password"], "otp_token": code},
        )
        self.assertEqual(r.status_code, 302)
        self.assertContains(client.get("/admin/ony/membership/"), "admin@demo.local")

    def test_it_is_idempotent(self):
        first = seed("--no-qr")
        second = seed("--no-qr")
        self.assertEqual(Organization.objects.filter(slug="demo").count(), 1)
        self.assertEqual(User.objects.filter(email="admin@demo.local").count(), 1)
        self.assertEqual(TOTPDevice.objects.count(), 1)
        self.assertEqual(first["TOTP secret"], second["TOTP secret"])
        # Without a configured password each run sets (and prints) a fresh one that works.
        user = User.objects.get(email="admin@demo.local")
        self.assertTrue(user.check_password(second["Password"]))
        self.assertFalse(user.check_password(first["Password"]))

    @override_settings(ONY_DEMO_PASSWORD="demo-password-from-env")
    def test_it_uses_the_configured_password(self):
        self.assertEqual(seed("--no-qr")["Password"], "demo-password-from-env")
        self.assertEqual(seed("--no-qr")["Password"], "demo-password-from-env")

    def test_it_draws_a_qr_code_by_default(self):
        out = StringIO()
        call_command("seed_demo", stdout=out)
        self.assertIn("Scan with an authenticator app", out.getvalue())
        self.assertIn("█", out.getvalue())


class TotpDeviceCommandTests(TestCase):
    def test_it_gives_a_user_a_device_and_can_reset_it(self):
        user = User.objects.create_user("eve@example.test", "pw")
        out = StringIO()
        call_command("totp_device", "EVE@example.test", "--no-qr", stdout=out)
        first = TOTPDevice.objects.get(user=user).key
        self.assertIn("otpauth://totp/Ony%3Aeve%40example.test", out.getvalue())
        call_command("totp_device", "eve@example.test", "--reset", "--no-qr", stdout=StringIO())
        self.assertNotEqual(TOTPDevice.objects.get(user=user).key, first)
