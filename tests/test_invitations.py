"""Joining without a shell: an admin invites by email, the invitee sets a password and TOTP."""

from __future__ import annotations

import re
import threading
import unittest
from datetime import timedelta

from django.core import mail
from django.db import connection
from django.test import Client, TransactionTestCase, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP

from audit.events import SYSTEM
from audit.models import AuditEntry
from ony import services
from ony.models import Invitation, Membership, TOTPDevice, User
from ony.models.totp import CodeCheck
from ony.roles import Role
from ony.tokens import token_hash
from tests.base import PASSWORD, OnyTestCase, make_person, run_together, verified_client

NEW_PASSWORD = "a long and new passphrase 42"


def code_for(key_hex: str, steps_ahead: int = 0) -> str:
    totp = TOTP(bytes.fromhex(key_hex))
    totp.time += steps_ahead * 30
    return str(totp.token()).zfill(6)


class InvitationTests(OnyTestCase):
    def invite(self, email: str = "dave@acme.test", role: str = "member") -> str:
        return self.invite_as(self.alice, self.acme, email, role)

    def invite_as(self, admin: User, org, email: str, role: str = "member") -> str:
        page = self.client_for(admin).post(
            reverse("admin:ony_invitation_add"), {"org": org.pk, "email": email, "role": role}
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

    def test_someone_with_an_account_logs_in_as_themselves_to_join(self):
        path = self.invite(email="Gus@Globex.test", role="viewer")
        anonymous = Client().get(path)
        self.assertContains(anonymous, 'id="log-in-first"')
        self.assertNotContains(anonymous, "<svg width=")  # no authenticator to take over
        refused = Client().post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        self.assertEqual(refused.status_code, 200)
        self.assertFalse(Membership.objects.filter(user=self.gus, org=self.acme).exists())

        joined = self.client_for(self.gus).post(path, {})
        self.assertRedirects(
            joined, reverse("admin:handoffs_handoff_changelist"), fetch_redirect_response=False
        )
        self.assertEqual(Membership.objects.get(user=self.gus, org=self.acme).role, "viewer")
        self.assertTrue(self.gus.check_password(PASSWORD))  # unchanged

    def test_a_link_never_opens_an_account_another_org_or_the_installation_relies_on(self):
        # Accounts that cannot log in yet: Gina's org added a member by phone only
        # (no password), and an operator made a superuser who has no authenticator.
        phone_only = services.add_member(self.globex, "pat@globex.test", actor=SYSTEM)
        root = User.objects.create_superuser("root@ony.test", PASSWORD)
        for person in (phone_only.user, root):
            path = self.invite(email=person.email, role="admin")
            page = Client().get(path)
            self.assertContains(page, 'id="log-in-first"')
            self.assertNotContains(page, "<svg width=")
            key = services.invitation_totp_key(path.rstrip("/").rsplit("/", 1)[1])
            form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "code": code_for(key)}
            Client().post(path, form)
            person.refresh_from_db()
            self.assertFalse(person.check_password(NEW_PASSWORD))
            self.assertFalse(TOTPDevice.objects.filter(user=person, key=key).exists())
            self.assertFalse(Membership.objects.filter(user=person, org=self.acme).exists())

    def test_an_account_in_no_org_without_credentials_sets_them_from_the_link(self):
        # Pat was added by phone only (no password) and later removed: nothing relies on it.
        phone_only = services.add_member(self.acme, "pat@acme.test", actor=SYSTEM, role="member")
        services.remove_member(phone_only, actor=SYSTEM)
        path = self.invite(email="pat@acme.test")
        key = services.invitation_totp_key(path.rstrip("/").rsplit("/", 1)[1])
        code = code_for(key)
        client = Client()
        form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "code": code}
        self.assertEqual(client.post(path, form).status_code, 302)
        phone_only.user.refresh_from_db()
        self.assertTrue(phone_only.user.check_password(NEW_PASSWORD))
        self.assertEqual(Membership.objects.filter(user=phone_only.user).count(), 1)
        # The code that accepted the invitation is spent: it does not log in again.
        device = TOTPDevice.objects.get(user=phone_only.user)
        self.assertIsNot(device.verify_decision_code(code), CodeCheck.ACCEPTED)

    def test_an_address_someone_claimed_first_is_joined_only_by_logging_in_to_it(self):
        # Globex's admin invites an address and accepts it himself ...
        path = self.invite_as(self.gina, self.globex, "victim@corp.test")
        key = services.invitation_totp_key(path.rstrip("/").rsplit("/", 1)[1])
        form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "code": code_for(key)}
        self.assertEqual(Client().post(path, form).status_code, 302)
        # ... then Acme invites the real person, who clicks Join without logging in.
        acme_path = self.invite(email="victim@corp.test")
        Client().post(acme_path, {})
        self.assertFalse(Membership.objects.filter(org=self.acme, user__email="victim@corp.test"))

    def test_a_person_logged_in_as_someone_else_is_asked_to_log_out(self):
        path = self.invite()
        page = self.client_for(self.bob).get(path)
        self.assertContains(page, "log out first", status_code=409)
        self.assertFalse(User.objects.filter(email="dave@acme.test").exists())

    def test_joining_an_org_one_is_already_in_uses_up_the_link(self):
        path = self.invite(email="gus@globex.test")
        services.add_member(self.acme, "gus@globex.test", actor=SYSTEM, role="member")
        joined = self.client_for(self.gus).post(path, {})
        self.assertEqual(joined.status_code, 302)
        self.assertEqual(Membership.objects.get(user=self.gus, org=self.acme).role, "member")
        self.assertIsNotNone(Invitation.objects.get().accepted_at)

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


@unittest.skipUnless(connection.vendor == "postgresql", "row locks need PostgreSQL")
class InvitationRaceTests(TransactionTestCase):
    def test_clicks_at_once_join_once_and_none_fails(self):
        acme = services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        alice = make_person(acme, "alice@acme.test", Role.ADMIN)
        globex = services.create_organization(name="Globex", slug="globex", actor=SYSTEM)
        gus = make_person(globex, "gus@globex.test", Role.MEMBER)
        _, token = services.invite(acme, "gus@globex.test", role="member", actor=alice.public_id)
        path = reverse("invitation", args=[token])
        statuses: list[int] = []
        barrier = threading.Barrier(4)

        def click() -> None:
            client = verified_client(gus.user)
            barrier.wait()
            statuses.append(client.post(path, {}).status_code)

        run_together(*[click] * 4)
        self.assertEqual(sorted(statuses), [302, 410, 410, 410])
        self.assertEqual(Membership.objects.filter(user=gus.user, org=acme).count(), 1)
