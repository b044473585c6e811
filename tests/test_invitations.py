"""Joining without a shell: an admin invites by email, the invitee sets a password and TOTP."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP

from audit.models import AuditEntry
from ony import services
from ony.models import Invitation, Membership, TOTPDevice, User
from ony.tokens import token_hash
from tests.base import PASSWORD, OnyTestCase

NEW_PASSWORD = "a long and new passphrase 42"


def code_for(key_hex: str, steps_ahead: int = 0) -> str:
    totp = TOTP(bytes.fromhex(key_hex))
    totp.time += steps_ahead * 30
    return str(totp.token()).zfill(6)


class InvitationTests(OnyTestCase):
    def invite(self, email: str = "dave@acme.test", role: str = "member") -> str:
        page = self.client_for(self.alice).post(
            reverse("admin:ony_invitation_add"), {"org": self.acme.pk, "email": email, "role": role}
        )
        self.assertEqual(page.status_code, 200)
        shown = re.search(r'<pre id="secret">([^<]+)</pre>', page.content.decode())
        assert shown is not None, "the link is shown"
        return shown.group(1).removeprefix("http://testserver")

    def test_an_admin_invites_and_the_link_is_shown_once_and_stored_hashed(self):
        path = self.invite()
        token = path.rstrip("/").rsplit("/", 1)[1]
        invitation = Invitation.objects.get()
        self.assertEqual(invitation.token_hash, token_hash(token))
        self.assertNotIn(token, str(Invitation.objects.values()))
        self.assertEqual(
            (invitation.email, invitation.role, invitation.org),
            ("dave@acme.test", "member", self.acme),
        )
        entry = AuditEntry.objects.for_org(self.acme).get(event="member.invited")
        self.assertEqual(
            (entry.actor, entry.subject, entry.data),
            (self.alice_m.public_id, invitation.public_id, {"role": "member"}),
        )
        self.assertNotIn("dave", entry.canonical)

    def test_the_invitee_sets_a_password_and_an_authenticator_and_lands_on_the_inbox(self):
        path = self.invite()
        token = path.rstrip("/").rsplit("/", 1)[1]
        key = services.invitation_totp_key(token)
        client = Client()
        page = client.get(path)
        self.assertContains(page, "dave@acme.test")
        self.assertContains(page, "<svg width=")  # the QR code
        form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}

        wrong = client.post(path, {**form, "code": code_for(key, 3)})
        self.assertContains(wrong, "not the one your app shows")
        short = client.post(path, {"password1": "123", "password2": "123", "code": code_for(key)})
        self.assertContains(short, "too short")
        self.assertFalse(User.objects.filter(email="dave@acme.test").exists())

        done = client.post(path, {**form, "code": code_for(key)})
        self.assertRedirects(
            done, reverse("admin:handoffs_handoff_changelist"), fetch_redirect_response=False
        )
        self.assertEqual(client.get(reverse("admin:handoffs_handoff_changelist")).status_code, 200)
        dave = User.objects.get(email="dave@acme.test")
        self.assertTrue(dave.check_password(NEW_PASSWORD))
        self.assertEqual(TOTPDevice.objects.get(user=dave, confirmed=True).key, key)
        member = Membership.objects.get(user=dave)
        self.assertEqual((member.org, member.role), (self.acme, "member"))
        self.assertIsNotNone(Invitation.objects.get().accepted_at)
        added = AuditEntry.objects.for_org(self.acme).get(
            event="member.added", subject=member.public_id
        )
        self.assertEqual(added.actor, self.alice_m.public_id)

        again = Client().get(path)  # the link works once
        self.assertContains(again, "used already", status_code=410)

    def test_an_expired_or_unknown_link_opens_nothing(self):
        path = self.invite()
        Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        self.assertContains(Client().get(path), "expired", status_code=410)
        self.assertContains(Client().get("/invite/ony_inv_nope/"), "not valid", status_code=410)
        self.assertContains(Client().post("/invite/nothing/", {}), "not valid", status_code=410)
        self.assertFalse(User.objects.filter(email="dave@acme.test").exists())

    def test_someone_with_an_account_just_joins(self):
        path = self.invite(email="Gus@Globex.test", role="viewer")
        response = Client().post(path, {})
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("admin:login"), response["Location"])
        self.assertEqual(Membership.objects.get(user=self.gus, org=self.acme).role, "viewer")
        self.assertTrue(self.gus.check_password(PASSWORD))  # unchanged

    def test_only_an_orgs_admins_invite_and_only_to_their_orgs(self):
        add = reverse("admin:ony_invitation_add")
        self.assertEqual(self.client_for(self.bob).get(add).status_code, 403)
        r = self.client_for(self.gina).post(
            add, {"org": self.acme.pk, "email": "x@y.test", "role": "admin"}
        )
        self.assertEqual(r.status_code, 200)  # the form again: Acme is not a choice for Gina
        self.assertFalse(Invitation.objects.exists())
        self.invite()
        listing = self.client_for(self.gina).get(reverse("admin:ony_invitation_changelist"))
        self.assertNotContains(listing, "dave@acme.test")

    def test_inviting_a_member_again_is_refused(self):
        r = self.client_for(self.alice).post(
            reverse("admin:ony_invitation_add"),
            {"org": self.acme.pk, "email": "bob@acme.test", "role": "member"},
        )
        self.assertContains(r, "already a member")
        self.assertFalse(Invitation.objects.exists())

    @override_settings(EMAIL_HOST="smtp.example.test")
    def test_it_emails_the_link_when_email_is_set_up(self):
        path = self.invite()
        [message] = mail.outbox
        self.assertEqual(message.to, ["dave@acme.test"])
        self.assertIn(path, message.body)
