"""Devices and enrollment tokens in the dashboard."""

from __future__ import annotations

import re
from io import StringIO

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from devices import services
from devices.models import Device, EnrollmentToken
from tests.base import OnyTestCase, enroll_device


class DeviceAdminTests(OnyTestCase):
    def setUp(self):
        self.laptop = enroll_device(self.acme, "laptop", self.alice_m).device
        self.build_box = enroll_device(self.globex, "build box").device

    def act(self, user, action, *devices):
        data = {"action": action, "_selected_action": [d.pk for d in devices]}
        return self.client_for(user).post(reverse("admin:devices_device_changelist"), data)

    def test_it_lists_the_orgs_devices_without_secrets(self):
        r = self.client_for(self.carol).get(reverse("admin:devices_device_changelist"))
        self.assertContains(r, self.laptop.public_id)
        self.assertNotContains(r, self.build_box.public_id)
        page = (
            self.client_for(self.alice)
            .get(reverse("admin:devices_device_change", args=[self.laptop.pk]))
            .content.decode()
        )
        self.assertNotIn(self.laptop.decision_key, page)
        self.assertNotIn(self.laptop.token_hash, page)

    def test_it_lets_an_admin_revoke_freeze_and_unfreeze(self):
        actor = self.alice_m.public_id
        self.act(self.alice, "freeze", self.laptop)
        self.assertEqual(Device.objects.get(pk=self.laptop.pk).status, "frozen")
        self.act(self.alice, "unfreeze", self.laptop)
        self.assertEqual(Device.objects.get(pk=self.laptop.pk).status, "active")
        self.act(self.alice, "revoke", self.laptop)
        self.assertEqual(Device.objects.get(pk=self.laptop.pk).status, "revoked")
        entries = AuditEntry.objects.for_org(self.acme).order_by("-seq")[:3]
        self.assertEqual(
            [(e.event, e.actor, e.subject) for e in reversed(entries)],
            [
                ("device.frozen", actor, self.laptop.public_id),
                ("device.unfrozen", actor, self.laptop.public_id),
                ("device.revoked", actor, self.laptop.public_id),
            ],
        )

    def test_it_does_not_let_members_or_viewers_act(self):
        for user in (self.bob, self.carol):
            with self.subTest(user.email):
                self.act(user, "revoke", self.laptop)
                self.assertEqual(Device.objects.get(pk=self.laptop.pk).status, "active")

    def test_it_does_not_reach_another_orgs_device(self):
        self.act(self.alice, "revoke", self.build_box)
        self.assertEqual(Device.objects.get(pk=self.build_box.pk).status, "active")
        r = self.client_for(self.alice).get(
            reverse("admin:devices_device_change", args=[self.build_box.pk]), follow=True
        )
        self.assertNotContains(r, self.build_box.public_id)


class EnrollmentTokenAdminTests(OnyTestCase):
    def test_it_shows_a_new_token_once_and_stores_only_its_hash(self):
        r = self.client_for(self.alice).post(
            reverse("admin:devices_enrollmenttoken_add"), {"org": self.acme.pk}
        )
        self.assertEqual(r.status_code, 200)
        token = re.search(r'<pre id="secret">(ony_enr_[\w-]+)</pre>', r.content.decode()).group(1)
        self.assertContains(r, f"ony enroll --server http://testserver --token {token}")
        record = EnrollmentToken.objects.for_org(self.acme).get()
        self.assertEqual(record.created_by, self.alice_m)
        self.assertNotEqual(record.token_hash, token)
        listing = self.client_for(self.alice).get(
            reverse("admin:devices_enrollmenttoken_changelist")
        )
        self.assertNotContains(listing, token)
        self.assertEqual(services.enroll(token, "laptop").device.org, self.acme)

    def test_it_lets_only_admins_create_tokens_for_their_own_orgs(self):
        url = reverse("admin:devices_enrollmenttoken_add")
        self.assertEqual(
            self.client_for(self.bob).post(url, {"org": self.acme.pk}).status_code, 403
        )
        r = self.client_for(self.alice).post(url, {"org": self.globex.pk})
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "Select a valid choice")
        self.assertEqual(EnrollmentToken.objects.count(), 0)


class EnrollmentTokenCommandTests(OnyTestCase):
    def test_it_prints_a_working_token_alone_on_the_last_line(self):
        out = StringIO()
        call_command("enrollment_token", "--org", "acme", "--minutes", "5", stdout=out)
        token = out.getvalue().strip().splitlines()[-1]
        self.assertRegex(token, r"^ony_enr_[\w-]{43}$")
        self.assertEqual(services.enroll(token, "ci").device.org, self.acme)

    def test_it_refuses_bad_arguments(self):
        for args in (
            ["--org", "nope"],
            ["--org", "acme", "--minutes", "16"],
            ["--org", "acme", "--minutes", "0"],
        ):
            with self.subTest(args), self.assertRaises(CommandError) as ctx:
                call_command("enrollment_token", *args, stdout=StringIO())
            self.assertEqual(ctx.exception.returncode, 2)
        self.assertEqual(EnrollmentToken.objects.count(), 0)

    def test_unauthenticated_enroll_is_the_only_door(self):
        r = Client().get("/api/v1/enroll")
        self.assertEqual((r.status_code, r.json()["code"]), (405, "method_not_allowed"))
