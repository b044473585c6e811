"""Erasing a member: every personal field gone, the pseudonym kept, the chain still verifying."""

from __future__ import annotations

import json
import threading
import unittest
from datetime import timedelta
from io import StringIO

from axes.models import AccessAttempt
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import TransactionTestCase
from django.utils import timezone

from audit.models import AuditEntry
from audit.verification import verify_org
from chat.models import ChatLink, ChatMessage, MessageStatus
from handoffs import services as handoffs
from handoffs.models import Handoff
from lifecycle import export
from ony import api_tokens, services
from ony.models import ApiToken, Invitation, Membership, TOTPDevice, User
from telephony.models import CallAttempt, CallStatus
from tests.base import OnyTestCase, enroll_device, make_handoff, run_together

BOB_EMAIL = "bob@acme.test"
BOB_PHONE = "+14155550102"
BOB_SLACK, BOB_TELEGRAM = "U0BOBSLACK1", "555000999"


class ErasureTestCase(OnyTestCase):
    def setUp(self) -> None:
        Membership.objects.filter(pk=self.bob_m.pk).update(
            slack_user_id=BOB_SLACK, telegram_chat_id=BOB_TELEGRAM, oncall_order=2
        )
        self.bob_m.refresh_from_db()
        laptop = enroll_device(self.acme, "laptop", self.bob_m).device
        self.decided = make_handoff(laptop, "db.migrate")
        handoffs.decide(
            self.decided,
            "approve",
            via="api",
            actor=self.bob_m.public_id,
            by=self.bob_m,
        )
        self.call = CallAttempt.objects.create(
            org=self.acme, handoff=self.decided, member=self.bob_m, status=CallStatus.COMPLETED
        )
        ChatMessage.objects.create(
            org=self.acme,
            handoff=self.decided,
            member=self.bob_m,
            service="slack",
            recipient=BOB_SLACK,
            channel="D0BOBCHAN",
            status=MessageStatus.CLOSED,
        )
        ChatLink.objects.create(
            org=self.acme,
            member=self.bob_m,
            service="telegram",
            token_hash="b" * 64,
            expires_at=timezone.now() + timedelta(minutes=5),
        )
        Invitation.objects.create(
            org=self.acme, email=BOB_EMAIL, token_hash="c" * 64, expires_at=timezone.now()
        )
        api_tokens.create(self.bob, "laptop")
        AccessAttempt.objects.create(
            username=BOB_EMAIL, ip_address="127.0.0.1", failures_since_start=1
        )
        token = ApiToken.objects.get(user=self.bob)
        authenticator = TOTPDevice.objects.get(user=self.bob)
        # The admin's history, as changes there write it.
        for obj in (self.bob_m, self.bob, token, authenticator):
            LogEntry.objects.create(
                user=self.alice,
                content_type=ContentType.objects.get_for_model(obj),
                object_id=str(obj.pk),
                object_repr=str(obj),
                action_flag=CHANGE,
            )

    def erased_entries(self) -> list[AuditEntry]:
        return list(AuditEntry.objects.for_org(self.acme).filter(event="member.erased"))


class EraseTests(ErasureTestCase):
    def test_it_removes_every_personal_field_and_keeps_the_pseudonym(self):
        account_deleted = services.erase_member(self.bob_m, actor=self.alice_m.public_id)

        self.assertTrue(account_deleted)
        row = Membership.all_objects.get(pk=self.bob_m.pk)
        self.assertEqual(row.public_id, self.bob_m.public_id)
        self.assertIsNone(row.user)
        self.assertEqual((row.phone, row.slack_user_id, row.telegram_chat_id), ("", "", ""))
        self.assertIsNone(row.oncall_order)
        self.assertIsNotNone(row.erased_at)
        self.assertFalse(Membership.objects.filter(pk=self.bob_m.pk).exists())  # not a member
        self.assertFalse(User.objects.filter(pk=self.bob.pk).exists())
        self.assertFalse(TOTPDevice.objects.filter(user_id=self.bob.pk).exists())
        self.assertFalse(ApiToken.objects.filter(user_id=self.bob.pk).exists())
        self.assertFalse(ChatLink.objects.filter(member_id=self.bob_m.pk).exists())
        self.assertFalse(ChatMessage.objects.filter(member_id=self.bob_m.pk).exists())
        self.assertFalse(Invitation.objects.filter(email=BOB_EMAIL).exists())
        self.assertFalse(AccessAttempt.objects.filter(username=BOB_EMAIL).exists())
        # The pseudonym stays where it was.
        decided = Handoff.objects.select_related("decided_by").get(pk=self.decided.pk)
        self.assertEqual(decided.decided_by.public_id, self.bob_m.public_id)
        self.assertEqual(CallAttempt.objects.get(pk=self.call.pk).member_id, self.bob_m.pk)

        out = StringIO()
        call_command("dumpdata", "--all", stdout=out)  # every table Django knows
        for personal in (BOB_EMAIL, BOB_PHONE, BOB_SLACK, BOB_TELEGRAM, "D0BOBCHAN"):
            self.assertNotIn(personal, out.getvalue())
        self.assertEqual(LogEntry.objects.count(), 4)  # what was done stays, not whom it named

    def test_the_chain_records_it_and_still_verifies(self):
        services.erase_member(self.bob_m, actor=self.alice_m.public_id)
        [entry] = self.erased_entries()
        self.assertEqual(
            (entry.actor, entry.subject, entry.data),
            (
                self.alice_m.public_id,
                self.bob_m.public_id,
                {"role": "member"},  # not whether the account went: other orgs' business
            ),
        )
        self.assertTrue(verify_org(self.acme).result.ok)

    def test_an_account_another_org_holds_stays_for_it(self):
        in_globex = services.add_member(self.globex, BOB_EMAIL, actor="system", phone=BOB_PHONE)
        self.assertFalse(services.erase_member(self.bob_m, actor=self.alice_m.public_id))
        self.assertTrue(User.objects.filter(pk=self.bob.pk, email=BOB_EMAIL).exists())
        in_globex.refresh_from_db()
        self.assertEqual((in_globex.user_id, in_globex.phone), (self.bob.pk, BOB_PHONE))
        self.assertIsNone(Membership.all_objects.get(pk=self.bob_m.pk).user)
        self.assertEqual(self.erased_entries()[0].data, {"role": "member"})

    def test_an_org_admin_never_deletes_an_operators_account(self):
        User.objects.filter(pk=self.carol.pk).update(is_superuser=True)
        self.assertFalse(services.erase_member(self.carol_m, actor=self.alice_m.public_id))
        self.assertTrue(User.objects.filter(pk=self.carol.pk, is_superuser=True).exists())
        self.assertIsNone(Membership.all_objects.get(pk=self.carol_m.pk).user)

    def test_removing_a_member_takes_their_chat_data_too(self):
        services.remove_member(self.bob_m, actor=self.alice_m.public_id)
        self.assertFalse(ChatMessage.objects.filter(recipient=BOB_SLACK).exists())
        self.assertFalse(ChatLink.objects.filter(org=self.acme).exists())

    def test_the_org_list_counts_people_not_erased_rows(self):
        services.erase_member(self.bob_m, actor=self.alice_m.public_id)
        page = self.client_for(self.alice).get("/admin/ony/organization/")
        self.assertContains(page, '<td class="field-member_count">2</td>', html=True)

    def test_an_erased_member_is_no_approver_and_no_one_to_message(self):
        services.erase_member(self.bob_m, actor=self.alice_m.public_id)
        row = Membership.all_objects.get(pk=self.bob_m.pk)
        self.assertFalse(row.callable)
        self.assertNotIn(row, list(Membership.objects.for_org(self.acme).on_call()))
        self.assertIsNone(handoffs.deciding_member(row.pk, self.acme.pk))

    def test_the_export_lists_only_the_pseudonym(self):
        services.erase_member(self.bob_m, actor=self.alice_m.public_id)
        text = "".join(export.audited_document(self.acme, actor="system"))
        [erased] = [m for m in json.loads(text)["members"] if m["id"] == self.bob_m.public_id]
        self.assertEqual(set(erased), {"id", "role", "erased_at"})
        self.assertNotIn(BOB_EMAIL, text)

    def test_the_pages_that_name_them_still_render(self):
        services.erase_member(self.bob_m, actor=self.alice_m.public_id)
        page = self.client_for(self.alice).get(f"/admin/handoffs/handoff/{self.decided.pk}/change/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, f"by {self.bob_m.public_id} (erased)")
        self.assertNotContains(page, BOB_EMAIL)
        calls = self.client_for(self.alice).get("/admin/telephony/callattempt/")
        self.assertContains(calls, f"{self.bob_m.public_id} (erased)")
        listed = self.client_for(self.alice).get("/admin/handoffs/handoff/?status=all")
        self.assertEqual(listed.status_code, 200)
        audit = self.client_for(self.alice).get("/admin/audit/auditentry/")
        self.assertEqual(audit.status_code, 200)


class RefusalTests(ErasureTestCase):
    def test_it_refuses_an_orgs_last_admin_and_changes_nothing(self):
        entries = AuditEntry.objects.for_org(self.acme).count()
        with self.assertRaises(ValidationError) as ctx:
            services.erase_member(self.alice_m, actor="system")
        self.assertEqual(ctx.exception.code, "last_admin")
        self.alice_m.refresh_from_db()
        self.assertEqual(
            (self.alice_m.user_id, self.alice_m.phone), (self.alice.pk, "+14155550101")
        )
        self.assertEqual(AuditEntry.objects.for_org(self.acme).count(), entries)

    def test_a_second_erasure_is_refused(self):
        services.erase_member(self.bob_m, actor="system")
        with self.assertRaises(ValidationError) as ctx:
            services.erase_member(self.bob_m, actor="system")
        self.assertEqual(ctx.exception.code, "already_erased")
        self.assertEqual(len(self.erased_entries()), 1)


class CommandTests(ErasureTestCase):
    def erase(self, org: str, member: str) -> str:
        out = StringIO()
        call_command("erase_member", "--org", org, "--member", member, stdout=out)
        return out.getvalue()

    def assert_refused(self, org: str, member: str, returncode: int) -> None:
        with self.assertRaises(CommandError) as ctx:
            self.erase(org, member)
        self.assertEqual(ctx.exception.returncode, returncode)

    def test_it_erases_and_refuses_clearly(self):
        self.assert_refused("nope", self.bob_m.public_id, 2)
        self.assert_refused("acme", self.gina_m.public_id, 2)  # a member of another org
        self.assert_refused("acme", "mem_nonexistent", 2)
        self.assert_refused("acme", self.alice_m.public_id, 1)  # the last admin
        self.assertEqual(self.erased_entries(), [])
        self.assertTrue(Membership.objects.filter(pk=self.gina_m.pk, user=self.gina).exists())

        out = self.erase("acme", self.bob_m.public_id)
        self.assertIn(f"Erased {self.bob_m.public_id} from acme; the account was deleted", out)
        self.assert_refused("acme", self.bob_m.public_id, 1)  # already erased
        self.assertEqual(len(self.erased_entries()), 1)


class DashboardTests(ErasureTestCase):
    def url(self, membership: Membership) -> str:
        return f"/admin/ony/membership/{membership.pk}/erase/"

    def test_an_org_admin_erases_a_member_from_the_dashboard(self):
        change = self.client_for(self.alice).get(f"/admin/ony/membership/{self.bob_m.pk}/change/")
        self.assertContains(change, 'id="erase-link"')
        page = self.client_for(self.alice).get(self.url(self.bob_m))
        self.assertContains(page, "their account (name, email, password")
        response = self.client_for(self.alice).post(self.url(self.bob_m))
        self.assertEqual(response.status_code, 302)
        self.assertIsNone(Membership.all_objects.get(pk=self.bob_m.pk).user)
        [entry] = self.erased_entries()
        self.assertEqual(entry.actor, self.alice_m.public_id)
        self.assertEqual(self.client_for(self.alice).post(self.url(self.bob_m)).status_code, 404)

    def test_members_viewers_and_other_orgs_cannot(self):
        for user, status in ((self.bob, 403), (self.carol, 403), (self.gina, 404)):
            with self.subTest(user.email):
                response = self.client_for(user).post(self.url(self.carol_m))
                self.assertEqual(response.status_code, status)
        self.assertEqual(self.erased_entries(), [])
        self.assertTrue(Membership.objects.filter(pk=self.carol_m.pk).exists())

    def test_the_last_admin_is_refused_on_the_page(self):
        page = self.client_for(self.alice).get(self.url(self.alice_m))
        self.assertContains(page, "would have no admin left")
        self.assertNotContains(page, 'id="erase-button"')
        response = self.client_for(self.alice).post(self.url(self.alice_m), follow=True)
        self.assertContains(response, "An organization needs at least one admin")
        self.assertEqual(self.erased_entries(), [])


class LoginAfterErasureTests(ErasureTestCase):
    def test_a_session_of_an_erased_account_is_no_longer_signed_in(self):
        client = self.client_for(self.bob)
        self.assertEqual(client.get("/admin/").status_code, 200)
        services.erase_member(self.bob_m, actor="system")
        self.assertEqual(client.get("/admin/").status_code, 302)  # to the login page


@unittest.skipUnless(connection.vendor == "postgresql", "row locks need PostgreSQL")
class ErasureRaceTests(TransactionTestCase):
    def test_erasing_one_person_in_two_orgs_at_once_deletes_the_account(self):
        orgs = [
            services.create_organization(name=slug, slug=slug, actor="system")
            for slug in ("acme", "globex")
        ]
        for round_ in range(10):
            email = f"dana{round_}@example.test"
            members = [
                services.add_member(org, email, actor="system", role="member") for org in orgs
            ]
            barrier = threading.Barrier(2)

            def erase(member: Membership, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                services.erase_member(member, actor="system")

            run_together(*[lambda m=m: erase(m) for m in members])
            with self.subTest(round_):
                self.assertFalse(User.objects.filter(email=email).exists())
                self.assertEqual(
                    Membership.all_objects.filter(
                        pk__in=[m.pk for m in members], user=None
                    ).count(),
                    2,
                )

    def test_erasing_while_another_org_adds_the_person_keeps_one_consistent_answer(self):
        acme = services.create_organization(name="Acme", slug="acme", actor="system")
        globex = services.create_organization(name="Globex", slug="globex", actor="system")
        for round_ in range(5):
            email = f"erin{round_}@example.test"
            member = services.add_member(acme, email, actor="system", role="member")
            barrier = threading.Barrier(2)
            errors: list[BaseException] = []

            def erase(barrier: threading.Barrier = barrier, member: Membership = member) -> None:
                barrier.wait()
                services.erase_member(member, actor="system")

            def add(
                barrier: threading.Barrier = barrier,
                email: str = email,
                errors: list[BaseException] = errors,
            ) -> None:
                barrier.wait()
                try:
                    services.add_member(globex, email, actor="system", role="member")
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

            run_together(erase, add)
            with self.subTest(round_):
                self.assertEqual(errors, [])
                joined = Membership.objects.get(org=globex, user__email=email)
                self.assertIsNotNone(joined.user)  # the account it joined with exists
