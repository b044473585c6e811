"""Deleting a person: each membership erased and audited, never an org's last admin."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse

from audit.models import AuditEntry
from ony import api_tokens, services
from ony.models import ApiToken, Membership, TOTPDevice, User
from tests.base import OnyTestCase, make_person


class UserDeletionTests(OnyTestCase):
    def setUp(self) -> None:
        self.root = make_person(self.acme, "root@ony.test", "viewer").person
        self.root.is_superuser = True
        self.root.save()

    def removals(self, org) -> list[dict]:
        entries = AuditEntry.objects.for_org(org).filter(event="member.erased")
        return [{"actor": e.actor, "subject": e.subject, **e.data} for e in entries]

    def test_it_erases_and_audits_each_membership_then_the_user(self):
        bob_in_globex = services.add_member(self.globex, "bob@acme.test", actor="system")
        r = self.client_for(self.root).post(
            reverse("admin:ony_user_delete", args=[self.bob.pk]), {"post": "yes"}
        )
        self.assertEqual(r.status_code, 302)
        self.assertFalse(User.objects.filter(pk=self.bob.pk).exists())
        root_in_acme = Membership.objects.get(user=self.root, org=self.acme).public_id
        self.assertEqual(
            self.removals(self.acme),
            [{"actor": root_in_acme, "subject": self.bob_m.public_id, "role": "member"}],
        )
        [globex] = self.removals(self.globex)
        self.assertEqual(
            (globex["subject"], globex["actor"]), (bob_in_globex.public_id, self.root.public_id)
        )

    def test_it_deletes_a_person_with_api_tokens_and_an_authenticator(self):
        api_tokens.create(self.bob, "laptop")
        self.assertTrue(TOTPDevice.objects.filter(user=self.bob).exists())
        url = reverse("admin:ony_user_delete", args=[self.bob.pk])
        self.assertNotContains(self.client_for(self.root).get(url), "permission")
        r = self.client_for(self.root).post(url, {"post": "yes"})
        self.assertEqual(r.status_code, 302)
        self.assertFalse(User.objects.filter(pk=self.bob.pk).exists())
        self.assertFalse(ApiToken.objects.filter(user_id=self.bob.pk).exists())
        self.assertFalse(TOTPDevice.objects.filter(user_id=self.bob.pk).exists())

    def test_it_refuses_to_delete_an_orgs_last_admin(self):
        url = reverse("admin:ony_user_delete", args=[self.alice.pk])
        page = self.client_for(self.root).get(url)
        self.assertContains(page, "Acme: it would have no admin left")
        r = self.client_for(self.root).post(url, {"post": "yes"})
        self.assertEqual(r.status_code, 200)  # the refusal page, nothing deleted
        self.assertTrue(User.objects.filter(pk=self.alice.pk).exists())
        self.assertTrue(Membership.objects.filter(pk=self.alice_m.pk).exists())
        with self.assertRaises(ValidationError):
            services.delete_user(self.alice, by=self.root)
        self.assertTrue(Membership.objects.filter(pk=self.alice_m.pk).exists())
        self.assertEqual(self.removals(self.acme), [])

    def test_nothing_else_deletes_a_member_around_the_audit(self):
        # (each in a savepoint: the refusal breaks the transaction it happens in)
        with self.assertRaises(ProtectedError), transaction.atomic():
            self.carol.delete()
        with self.assertRaises(ProtectedError), transaction.atomic():
            User.objects.filter(pk=self.carol.pk).delete()
        self.assertTrue(Membership.objects.filter(pk=self.carol_m.pk).exists())
