"""Appending to the audit chain: linked, keyed, per organization, free of secrets."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import transaction
from django.test import TransactionTestCase

from audit import services as audit
from audit.chain import GENESIS, entry_hash
from audit.events import SYSTEM, Event
from audit.models import AuditEntry
from audit.verification import verify_org
from ony import services
from ony.roles import Role
from tests.base import OnyTestCase


class AppendTests(OnyTestCase):
    def test_it_links_each_entry_to_the_previous_one(self):
        first_seq = AuditEntry.objects.for_org(self.acme).count()
        entries = [
            audit.append(
                self.acme,
                Event.DEVICE_ENROLLED,
                self.alice_m.public_id,
                "dev_aa11",
                {"name": "laptop"},
            ),
            audit.append(self.acme, Event.DEVICE_REVOKED, self.alice_m.public_id, "dev_aa11"),
        ]
        key_id, key = next(iter(settings.ONY_AUDIT_KEYS.items()))
        previous = AuditEntry.objects.for_org(self.acme).get(seq=first_seq)
        for entry in entries:
            stored = AuditEntry.objects.get(pk=entry.pk)
            self.assertEqual(stored.seq, previous.seq + 1)
            self.assertEqual(bytes(stored.prev_hash), bytes(previous.hash))
            self.assertEqual(stored.key_id, key_id)
            expected = entry_hash(key, bytes(stored.prev_hash), stored.canonical.encode())
            self.assertEqual(bytes(stored.hash), expected)
            previous = stored

    def test_it_hashes_the_documented_fields_exactly(self):
        entry = audit.append(self.acme, "device.enrolled", SYSTEM, "dev_aa11", {"name": "laptop"})
        fields = json.loads(entry.canonical)
        self.assertEqual(
            sorted(fields), ["actor", "at", "data", "event", "org", "seq", "subject", "v"]
        )
        self.assertEqual(fields["org"], self.acme.public_id)
        self.assertEqual((fields["v"], fields["seq"]), (1, entry.seq))
        self.assertRegex(fields["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        self.assertTrue(entry.canonical.startswith('{"actor":"system","at":"'))

    def test_it_starts_each_org_at_seq_one_from_genesis(self):
        org = services.create_organization(name="New", slug="new", actor=SYSTEM)
        first = AuditEntry.objects.for_org(org).get()
        self.assertEqual((first.seq, first.event), (1, "org.created"))
        self.assertEqual(bytes(first.prev_hash), GENESIS)

    def test_it_keeps_one_chain_per_org(self):
        acme_head = AuditEntry.objects.for_org(self.acme).order_by("-seq").first().seq
        globex_head = AuditEntry.objects.for_org(self.globex).order_by("-seq").first().seq
        audit.append(self.globex, Event.DEVICE_ENROLLED, SYSTEM, "dev_bb22")
        self.assertEqual(
            AuditEntry.objects.for_org(self.acme).order_by("-seq").first().seq, acme_head
        )
        self.assertEqual(
            AuditEntry.objects.for_org(self.globex).order_by("-seq").first().seq, globex_head + 1
        )
        self.assertTrue(verify_org(self.acme).ok)
        self.assertTrue(verify_org(self.globex).ok)

    def test_it_refuses_what_does_not_belong_in_the_log(self):
        before = AuditEntry.objects.count()
        cases = [
            ("no.such.event", SYSTEM, "", {}),
            (Event.DEVICE_ENROLLED, "alice@acme.test", "", {}),
            (Event.DEVICE_ENROLLED, "+14155550101", "", {}),
            (Event.DEVICE_ENROLLED, SYSTEM, "alice@acme.test", {}),
            (Event.DEVICE_ENROLLED, SYSTEM, "", {"device_token": "abc"}),
            (Event.DEVICE_ENROLLED, SYSTEM, "", {"nested": {"password": "x"}}),
            (Event.DEVICE_ENROLLED, SYSTEM, "", {"payload": "rm -rf /"}),
            (Event.CALL_PLACED, SYSTEM, "", {"to": "+14155550101"}),
            (Event.DEVICE_ENROLLED, SYSTEM, "", {"ratio": 0.5}),
        ]
        for event, actor, subject, data in cases:
            with self.subTest(event=event, actor=actor, data=data), self.assertRaises(ValueError):
                audit.append(self.acme, event, actor, subject, data)
        self.assertEqual(AuditEntry.objects.count(), before)

    def test_it_accepts_masked_phones_and_payload_digests(self):
        data = {"to": "+1 *** *** 1234", "payload_sha256": "ab" * 32, "otp": True}
        entry = audit.append(self.acme, Event.CALL_PLACED, SYSTEM, "req_9f3a1c84b27d", data)
        self.assertEqual(entry.data, data)

    def test_it_rolls_back_with_the_change_it_records(self):
        before = AuditEntry.objects.count()
        with self.assertRaises(RuntimeError), transaction.atomic():
            audit.append(self.acme, Event.DEVICE_ENROLLED, SYSTEM, "dev_aa11")
            raise RuntimeError("the change failed")
        self.assertEqual(AuditEntry.objects.count(), before)

    def test_it_refuses_changes_through_the_orm(self):
        entry = AuditEntry.objects.for_org(self.acme).first()
        entry.event = "org.updated"
        with self.assertRaises(PermissionError):
            entry.save()
        with self.assertRaises(PermissionError):
            entry.delete()


class MemberAuditTests(OnyTestCase):
    def events(self) -> list[tuple[str, str, str, dict]]:
        entries = AuditEntry.objects.for_org(self.acme).order_by("seq")
        return [(e.event, e.actor, e.subject, e.data) for e in entries]

    def test_it_records_the_org_and_its_first_members(self):
        events = self.events()
        self.assertEqual(
            events[0], ("org.created", "system", self.acme.public_id, {"slug": "acme"})
        )
        self.assertEqual(
            events[1],
            (
                "member.added",
                "system",
                self.alice_m.public_id,
                {"role": "admin", "oncall_order": None},
            ),
        )

    def test_it_records_member_changes_without_personal_data(self):
        actor = self.alice_m.public_id
        services.update_member(self.carol_m, actor=actor, role=Role.MEMBER, phone="+14155550199")
        services.remove_member(self.carol_m, actor=actor)
        events = self.events()[-3:]
        self.assertEqual(
            events,
            [
                (
                    "member.role_changed",
                    actor,
                    self.carol_m.public_id,
                    {"from": "viewer", "to": "member"},
                ),
                ("member.updated", actor, self.carol_m.public_id, {"fields": ["phone"]}),
                ("member.removed", actor, self.carol_m.public_id, {"role": "member"}),
            ],
        )
        text = "".join(AuditEntry.objects.for_org(self.acme).values_list("canonical", flat=True))
        for personal in ("carol@acme.test", "+14155550199", "+14155550103", "0199"):
            self.assertNotIn(personal, text)

    def test_it_records_nothing_for_a_change_that_changes_nothing(self):
        before = AuditEntry.objects.count()
        services.update_member(self.bob_m, actor=SYSTEM, role=Role.MEMBER)
        self.assertEqual(AuditEntry.objects.count(), before)

    def test_it_names_an_operator_by_their_user_id(self):
        root = self.gina
        self.assertEqual(audit.actor_for(root, self.acme), root.public_id)
        self.assertEqual(audit.actor_for(self.alice, self.acme), self.alice_m.public_id)


class OutsideTransactionTests(TransactionTestCase):
    def test_it_refuses_to_append_outside_a_transaction(self):
        org = services.create_organization(name="Solo", slug="solo", actor=SYSTEM)
        with self.assertRaisesMessage(RuntimeError, "inside the caller's transaction"):
            audit.append(org, Event.DEVICE_ENROLLED, SYSTEM, "dev_aa11")
        self.assertEqual(AuditEntry.objects.for_org(org).count(), 1)
