"""Organization export: one streamed JSON document, no secrets, its chain verifiable offline."""

from __future__ import annotations

import base64
import json
import stat
import tempfile
import unittest
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, TransactionTestCase
from django.test.utils import CaptureQueriesContext

from audit import services as audit
from audit.models import AuditEntry
from chat import linking
from chat.models import ChatLink, ChatMessage, MessageStatus
from devices import services as devices
from devices.models import Device, EnrollmentToken
from handoffs import services as handoffs
from handoffs.models import Handoff
from lifecycle import export
from ony import api_tokens, services
from ony.models import ApiToken, Invitation, Membership, TOTPDevice, User
from telephony.models import CallAttempt, CallStatus
from tests.base import (
    OnyTestCase,
    bearer,
    enroll_device,
    make_handoff,
    make_person,
    run_together,
    verified_client,
)

PAYLOAD = "diff --git a/settings.py b/settings.py\n+DEBUG = False\n"


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


class ExportTestCase(OnyTestCase):
    def setUp(self) -> None:
        self.laptop = enroll_device(self.acme, "build-laptop", self.alice_m)
        self.globex_laptop = enroll_device(self.globex, "globex-box")
        self.pending = make_handoff(self.laptop.device, "db.migrate", payload=PAYLOAD)
        self.decided = make_handoff(self.laptop.device, "test.run", title="Run the tests")
        self.theirs = make_handoff(self.globex_laptop.device, "db.migrate", payload="GLOBEX")
        self.call = CallAttempt.objects.create(
            org=self.acme,
            handoff=self.pending,
            member=self.alice_m,
            status=CallStatus.COMPLETED,
            call_sid="CA0123456789abcdef0123456789abcdef",
        )
        Membership.objects.filter(pk=self.alice_m.pk).update(
            slack_user_id="U0SLACKALICE", telegram_chat_id="777000111"
        )
        self.chat = ChatMessage.objects.create(
            org=self.acme,
            handoff=self.pending,
            member=self.alice_m,
            service="slack",
            recipient="U0SLACKALICE",
            channel="D0ALICECHAN",
            message_ref="1700000000.000100",
            status=MessageStatus.SENT,
        )
        _, self.alice_token = api_tokens.create(self.alice, "export")
        _, self.bob_token = api_tokens.create(self.bob, "export")
        audit.checkpoint(self.acme)

    def export(self, user: User | None = None, **params: Any):
        token = {self.alice: self.alice_token, self.bob: self.bob_token}.get(user or self.alice)
        return Client().get(
            "/api/v1/export",
            {"org": "acme", **params},
            HTTP_AUTHORIZATION=f"Token {token}",
        )

    def exported(self, **params: Any) -> tuple[str, dict[str, Any]]:
        response = self.export(**params)
        self.assertEqual(response.status_code, 200)
        text = body_of(response).decode()
        return text, json.loads(text)


class ContentsTests(ExportTestCase):
    def test_it_holds_the_org_and_nothing_of_another(self):
        text, document = self.exported()
        self.assertEqual(document["format"], "ony-export-v1")
        self.assertEqual(document["organization"]["id"], self.acme.public_id)
        self.assertEqual(document["organization"]["policy"]["critical"], "phone_totp")
        self.assertEqual(
            document["organization"]["retention_days"], {"payloads": 30, "details": 90}
        )
        self.assertEqual(
            sorted(m["email"] for m in document["members"]),
            ["alice@acme.test", "bob@acme.test", "carol@acme.test"],
        )
        alice = next(m for m in document["members"] if m["email"] == "alice@acme.test")
        self.assertEqual(alice["phone"], "+1 *** *** 0101")
        self.assertEqual(alice["chat_linked"], {"slack": True, "telegram": True})
        self.assertEqual([d["name"] for d in document["devices"]], ["build-laptop"])
        self.assertEqual(
            [h["id"] for h in document["handoffs"]],
            [self.pending.public_id, self.decided.public_id],
        )
        decided = document["handoffs"][1]
        self.assertEqual((decided["status"], decided["decided_via"]), ("approved", "policy"))
        self.assertEqual(decided["verdict"], Handoff.objects.get(pk=self.decided.pk).verdict)
        self.assertEqual(document["call_attempts"][0]["member"], self.alice_m.public_id)
        self.assertEqual(document["chat_messages"][0]["service"], "slack")
        self.assertEqual(
            len(document["audit"]["entries"]), AuditEntry.objects.for_org(self.acme).count()
        )
        # The one made before, and the one the export signs at its own entry.
        self.assertEqual(len(document["audit"]["checkpoints"]), 2)
        for other in ("Globex", "globex", self.globex.public_id, self.theirs.public_id, "GLOBEX"):
            self.assertNotIn(other, text)

    def test_no_secret_of_any_kind_is_in_it(self):
        _, invitation = services.invite(self.acme, "dave@acme.test", role="member", actor="system")
        chat_token = "tg" + "a" * 32
        linking._new_link(self.bob_m, "telegram", chat_token)
        _, enrollment = devices.create_enrollment_token(self.acme)  # an unused one
        text, _ = self.exported(payloads="true")

        secrets: list[str] = [self.alice_token, self.bob_token, self.laptop.device_token]
        secrets += [invitation, chat_token, enrollment]
        secrets += [self.laptop.decision_key, settings.SECRET_KEY]
        for device in TOTPDevice.objects.all():
            secrets += [device.key, base64.b32encode(device.bin_key).decode()]
        for user in User.objects.all():
            secrets.append(user.password)
        for model, fields in (
            (ApiToken, ["token_hash"]),
            (Device, ["token_hash", "decision_key"]),
            (EnrollmentToken, ["token_hash"]),
            (Invitation, ["token_hash"]),
            (ChatLink, ["token_hash"]),
            (CallAttempt, ["code", "step", "call_sid"]),
            (ChatMessage, ["code", "recipient", "channel", "message_ref"]),
            (Membership, ["slack_user_id", "telegram_chat_id", "phone"]),
        ):
            for row in model.objects.values_list(*fields):
                secrets += [value for value in row if value]
        for key in (*settings.ONY_AUDIT_KEYS.values(), settings.ONY_CHECKPOINT_KEY):
            secrets += [key.hex(), base64.b64encode(key).decode()]
        secrets += [key.decode() for key in settings.ONY_ENCRYPTION_KEYS]
        with connection.cursor() as cursor:  # the ciphertexts as stored
            cursor.execute(
                "SELECT key FROM ony_totpdevice UNION SELECT payload FROM handoffs_handoff"
            )
            secrets += [row[0] for row in cursor.fetchall() if row[0]]

        self.assertGreater(len(secrets), 30)
        for secret in secrets:
            with self.subTest(secret=secret[:12]):
                self.assertNotIn(str(secret), text)

    def test_payloads_only_when_asked_for_and_still_retained(self):
        text, document = self.exported()
        self.assertNotIn("payload", document["handoffs"][0])
        self.assertNotIn("DEBUG = False", text)
        self.assertEqual(document["handoffs"][0]["payload_sha256"], self.pending.payload_sha256)

        _, document = self.exported(payloads="true")
        self.assertEqual(document["handoffs"][0]["payload"], PAYLOAD)
        self.assertIsNone(document["handoffs"][1]["payload"])  # none was attached

        Handoff.objects.filter(pk=self.pending.pk).update(payload=None)  # scrubbed
        _, document = self.exported(payloads="true")
        self.assertIsNone(document["handoffs"][0]["payload"])
        self.assertEqual(document["handoffs"][0]["payload_sha256"], self.pending.payload_sha256)

    def test_each_export_is_audited_and_ends_its_own_chain(self):
        _, document = self.exported(payloads="true")
        entry = AuditEntry.objects.for_org(self.acme).order_by("-seq").first()
        self.assertEqual(
            (entry.event, entry.actor, entry.data),
            ("export.created", self.alice_m.public_id, {"with_payloads": True}),
        )
        self.assertEqual(document["audit"]["entries"][-1]["seq"], entry.seq)
        self.assertEqual(document["audit"]["entries"][-1]["event"], "export.created")


class RefusalTests(ExportTestCase):
    def assert_refused(self, response, status: int, code: str) -> None:
        entries = AuditEntry.objects.filter(event="export.created").count()
        self.assertEqual((response.status_code, response.json()["code"]), (status, code))
        self.assertEqual(AuditEntry.objects.filter(event="export.created").count(), entries)
        self.assertEqual(entries, 0)

    def test_only_the_orgs_admins_may_export(self):
        self.assert_refused(self.export(self.bob), 403, "not_an_admin")
        gina = verified_client(self.gina)
        self.assert_refused(gina.get("/api/v1/export", {"org": "acme"}), 404, "not_found")
        self.assert_refused(self.export(org="nope"), 404, "not_found")
        self.assert_refused(self.export(org="x\u0000y"), 400, "invalid_characters")
        self.assert_refused(self.export(org=""), 400, "invalid")
        self.assert_refused(self.export(payloads="maybe"), 400, "invalid")
        response = Client().get(
            "/api/v1/export", {"org": "acme"}, **bearer(self.laptop.device_token)
        )
        self.assertIn(response.status_code, (401, 403))
        self.assertEqual(AuditEntry.objects.filter(event="export.created").count(), 0)

    def test_a_session_works_too(self):
        response = verified_client(self.alice).get("/api/v1/export", {"org": "acme"})
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment;", response["Content-Disposition"])
        self.assertEqual(json.loads(body_of(response))["organization"]["slug"], "acme")


class OfflineVerificationTests(ExportTestCase):
    def write(self, document: dict[str, Any] | str) -> str:
        folder = Path(tempfile.mkdtemp())
        path = folder / "export.json"
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        return str(path)

    def verify(self, path: str) -> str:
        out = StringIO()
        with CaptureQueriesContext(connection) as queries:
            call_command("verify_chain", "--from-export", path, stdout=out)
        self.assertEqual(len(queries), 0)  # no database
        return out.getvalue()

    def test_an_export_verifies_without_a_database(self):
        text, _ = self.exported()
        out = self.verify(self.write(text))
        self.assertIn(f"export of {self.acme.public_id}: OK", out)
        self.assertIn("2 signed checkpoints matched", out)

    def test_it_answers_in_json_and_takes_no_org_or_witness(self):
        text, _ = self.exported()
        path = self.write(text)
        out = StringIO()
        call_command("verify_chain", "--from-export", path, "--json", stdout=out)
        summary = json.loads(out.getvalue())
        [chain] = summary["chains"]
        self.assertEqual((summary["ok"], chain["org_id"]), (True, self.acme.public_id))
        self.assertEqual(chain["checkpoints_checked"], 2)
        for extra in (["--org", "acme"], ["--witness", f"1:{'0' * 64}"]):
            with self.subTest(extra), self.assertRaises(CommandError) as ctx:
                call_command("verify_chain", "--from-export", path, *extra)
            self.assertEqual(ctx.exception.returncode, 2)

    def test_a_changed_entry_or_a_removed_one_breaks_it(self):
        _, document = self.exported()
        changed = json.loads(json.dumps(document))
        entry = changed["audit"]["entries"][1]
        entry["canonical"] = entry["canonical"].replace('"v":1', '"v":1 ')
        removed = json.loads(json.dumps(document))
        del removed["audit"]["entries"][2]
        for broken, kind in ((changed, "mac"), (removed, "gap")):
            with self.subTest(kind), self.assertRaises(CommandError) as ctx:
                self.verify(self.write(broken))
            self.assertEqual(ctx.exception.returncode, 1)

    def test_a_cut_emptied_or_borrowed_chain_breaks_it(self):
        _, document = self.exported()
        gina_token = api_tokens.create(self.gina, "export")[1]
        response = Client().get(
            "/api/v1/export", {"org": "globex"}, HTTP_AUTHORIZATION=f"Token {gina_token}"
        )
        globex = json.loads(body_of(response))
        cut = json.loads(json.dumps(document))
        del cut["audit"]["entries"][-1]  # the export's own entry, and so its checkpoint's
        cut["audit"]["checkpoints"] = cut["audit"]["checkpoints"][:-1]
        emptied = json.loads(json.dumps(document))
        emptied["audit"]["entries"], emptied["audit"]["checkpoints"] = [], []
        borrowed = {**json.loads(json.dumps(document)), "audit": globex["audit"]}
        for broken, says in (
            (cut, "the chain was cut"),
            (emptied, "the chain was cut"),
            (borrowed, "not this export's organization's"),
        ):
            out = StringIO()
            with self.subTest(says), self.assertRaises(CommandError) as ctx:
                call_command("verify_chain", "--from-export", self.write(broken), stdout=out)
            self.assertEqual(ctx.exception.returncode, 1)
            self.assertIn(says, out.getvalue())

    def test_a_file_that_is_no_export_is_a_usage_error(self):
        for text, says in (
            ("not json", "cannot read"),
            ("{}", "it has no 'format'"),
            ('{"format": "ony-export-v1", "audit": {"org": 5}}', "not an organization id"),
            ('{"format": "ony-export-v1", "audit": {"org": "org_x", "entries": 5}}', "wrong"),
            ("[]", "wrong type"),
            ("[" * 100_000, "nested too deep"),
            (
                json.dumps(
                    {
                        **self.exported()[1],
                        "audit": {"org": "o", "entries": [{"seq": 1e400}], "checkpoints": []},
                    }
                ),
                "wrong type",
            ),
            (self.exported()[0].replace('"canonical":"', '"canonical":"\\ud800', 1), "wrong type"),
        ):
            with self.subTest(text), self.assertRaises(CommandError) as ctx:
                self.verify(self.write(text))
            self.assertEqual(ctx.exception.returncode, 2)
            self.assertIn(says, str(ctx.exception))
        with self.assertRaises(CommandError) as ctx:
            self.verify("/nonexistent/export.json")
        self.assertEqual(ctx.exception.returncode, 2)


class CommandAndPageTests(ExportTestCase):
    def test_the_command_writes_to_stdout_or_a_new_file(self):
        out = StringIO()
        call_command("export_org", "--org", "acme", stdout=out)
        self.assertEqual(json.loads(out.getvalue())["organization"]["slug"], "acme")
        entry = AuditEntry.objects.for_org(self.acme).order_by("-seq").first()
        self.assertEqual((entry.event, entry.actor), ("export.created", "system"))

        path = Path(tempfile.mkdtemp()) / "acme.json"
        call_command("export_org", "--org", "acme", "--output", str(path), stderr=StringIO())
        self.assertEqual(json.loads(path.read_text())["format"], "ony-export-v1")
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600)  # it holds emails
        exports = AuditEntry.objects.filter(event="export.created").count()
        with self.assertRaises(CommandError) as ctx:  # never overwritten
            call_command("export_org", "--org", "acme", "--output", str(path))
        self.assertEqual(ctx.exception.returncode, 2)
        with self.assertRaises(CommandError) as ctx:
            call_command("export_org", "--org", "nope")
        self.assertEqual(ctx.exception.returncode, 2)
        self.assertEqual(AuditEntry.objects.filter(event="export.created").count(), exports)

    def test_an_org_admin_downloads_it_from_the_dashboard(self):
        change = f"/admin/ony/organization/{self.acme.pk}/change/"
        self.assertContains(self.client_for(self.alice).get(change), 'id="export-link"')
        url = "/admin/ony/organization/acme/export/"
        page = self.client_for(self.alice).get(url)
        self.assertContains(page, "Download the export")
        response = self.client_for(self.alice).post(url, {"payloads": "on"})
        self.assertEqual(response.status_code, 200)
        document = json.loads(body_of(response))
        self.assertEqual(document["handoffs"][0]["payload"], PAYLOAD)

    def test_members_viewers_and_other_orgs_admins_cannot(self):
        url = "/admin/ony/organization/acme/export/"
        for user, status in ((self.bob, 403), (self.carol, 403), (self.gina, 404)):
            with self.subTest(user.email):
                self.assertEqual(self.client_for(user).post(url).status_code, status)
        self.assertEqual(AuditEntry.objects.filter(event="export.created").count(), 0)


@unittest.skipUnless(connection.vendor == "postgresql", "a snapshot needs PostgreSQL")
class SnapshotTests(TransactionTestCase):
    def test_what_changes_while_it_downloads_is_in_none_of_it(self):
        acme = services.create_organization(name="Acme", slug="acme", actor="system")
        alice = make_person(acme, "alice@acme.test", "admin")
        pending = make_handoff(enroll_device(acme).device, "db.migrate")
        chunks = export.audited_document(acme, actor="system")
        head = next(chunks)  # the document's moment is taken

        def meanwhile() -> None:
            handoffs.decide(pending, "approve", via="api", actor=alice.public_id, by=alice)
            services.add_member(acme, "late@acme.test", actor="system")

        run_together(meanwhile)
        document = json.loads(head + "".join(chunks))
        self.assertEqual(Handoff.objects.get(pk=pending.pk).status, "approved")  # it happened
        [exported] = document["handoffs"]
        self.assertEqual((exported["status"], exported["verdict"]), ("pending", None))
        self.assertNotIn("late@acme.test", json.dumps(document))
        self.assertEqual(document["audit"]["entries"][-1]["event"], "export.created")
