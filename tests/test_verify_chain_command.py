"""`manage.py verify_chain`: one line per org, JSON on request, exit 0 / 1 / 2."""

from __future__ import annotations

import json
from contextlib import redirect_stderr
from io import StringIO

from django.core.management import load_command_class
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings

from audit import services as audit
from audit.events import SYSTEM, Event
from audit.models import AuditEntry, Checkpoint
from ony import services
from tests.base import OnyTestCase
from tests.tamper import entry_row, sql


def run(*args: str) -> tuple[int, str, str]:
    """Run the command as `manage.py verify_chain ARGS` does: (exit status, stdout, stderr).

    This is BaseCommand.run_from_argv without its final connections.close_all(),
    which would end the test's transaction.
    """
    command = load_command_class("audit", "verify_chain")
    command._called_from_command_line = True  # type: ignore[attr-defined]  # Django-private, not in the stubs
    parser = command.create_parser("manage.py", "verify_chain")
    out, err = StringIO(), StringIO()
    try:
        with redirect_stderr(err):
            options = vars(parser.parse_args(args))
        command.execute(*options.pop("args", ()), **options, stdout=out, stderr=err)
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        return exc.returncode, out.getvalue(), err.getvalue()
    except SystemExit as exc:  # argparse's usage errors
        assert isinstance(exc.code, int), exc.code  # argparse exits with status 2
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


class VerifyChainCommandTests(OnyTestCase):
    def head(self, org):
        entry = AuditEntry.objects.for_org(org).order_by("-seq").first()
        return entry.seq, entry.hash_hex

    def test_it_reports_good_chains_and_exits_0(self):
        empty = services.create_organization(name="Empty", slug="empty", actor=SYSTEM)
        status, out, _ = run()
        self.assertEqual(status, 0)
        seq, digest = self.head(self.acme)
        self.assertIn(
            f"acme: OK, {seq} entries, head #{seq} {digest}; 0 signed checkpoints matched", out
        )
        self.assertIn("globex: OK", out)
        self.assertIn(f"{empty.slug}: OK", out)

    def test_it_reports_a_broken_chain_and_exits_1(self):
        row_id, text = entry_row(self.acme.pk, 2)[:2]
        sql(
            "UPDATE audit_auditentry SET canonical = %s WHERE id = %s",
            [text.replace("admin", "owner"), row_id],
        )
        status, out, err = run()
        self.assertEqual(status, 1)
        self.assertIn(
            "acme: BROKEN at #2 (mac: hash does not match the entry); verified through #1", out
        )
        self.assertIn("globex: OK", out)
        self.assertIn("verification failed", err)

    def test_it_prints_json(self):
        status, out, _ = run("--org", "acme", "--json")
        report = json.loads(out)
        seq, digest = self.head(self.acme)
        self.assertEqual(status, 0)
        self.assertEqual(
            report,
            {
                "ok": True,
                "chains": [
                    {
                        "org": "acme",
                        "org_id": self.acme.public_id,
                        "ok": True,
                        "entries": seq,
                        "checkpoints_checked": 0,
                        "witnesses_checked": 0,
                        "verified_through": seq,
                        "head_hash": digest,
                        "failure": None,
                    }
                ],
            },
        )

    def test_it_prints_json_for_a_break(self):
        sql("DELETE FROM audit_auditentry WHERE id = %s", [entry_row(self.acme.pk, 3)[0]])
        status, out, _ = run("--org", "acme", "--json")
        chain = json.loads(out)["chains"][0]
        self.assertEqual(status, 1)
        self.assertEqual(
            chain["failure"], {"seq": 3, "kind": "gap", "detail": "next stored entry is 4"}
        )
        self.assertEqual(chain["verified_through"], 2)

    def test_it_checks_witnesses(self):
        seq, digest = self.head(self.acme)
        status, out, _ = run("--org", "acme", "--witness", f"{seq}:{digest}")
        self.assertEqual(status, 0)
        self.assertIn("; 0 signed checkpoints and 1 witness matched", out)
        self.assertIn(f"acme: witness #{seq} matches", out)
        audit.append(self.acme, Event.DEVICE_ENROLLED, SYSTEM, "dev_aa11")
        self.assertEqual(run("--org", "acme", "--witness", f"{seq}:{digest}")[0], 0)
        wrong = f"{seq}:{'0' * 64}"
        status, out, _ = run("--org", "acme", "--witness", wrong)
        self.assertEqual(status, 1)
        self.assertIn(f"BROKEN at #{seq} (checkpoint: witness {seq}: hash differs)", out)

    def test_it_says_how_many_checkpoints_it_checked(self):
        audit.checkpoint(self.acme)
        audit.append(self.acme, Event.DEVICE_ENROLLED, SYSTEM, "dev_aa11")
        audit.checkpoint(self.acme)
        status, out, _ = run("--org", "acme")
        self.assertEqual(status, 0)
        self.assertIn("; 2 signed checkpoints matched", out)
        self.assertEqual(
            json.loads(run("--org", "acme", "--json")[1])["chains"][0]["checkpoints_checked"], 2
        )

    @override_settings(ONY_CHECKPOINT_ON_COMMIT=True)
    def test_without_beat_each_commit_signs_the_head_so_truncation_shows(self):
        with self.captureOnCommitCallbacks(execute=True), transaction.atomic():
            audit.append(self.acme, Event.DEVICE_ENROLLED, SYSTEM, "dev_aa11")
            audit.append(self.acme, Event.DEVICE_ENROLLED, SYSTEM, "dev_aa12")
        seq, _ = self.head(self.acme)
        self.assertEqual(Checkpoint.objects.for_org(self.acme).get().seq, seq)  # one, the head
        sql("DELETE FROM audit_auditentry WHERE org_id = %s AND seq = %s", [self.acme.pk, seq])
        status, out, _ = run("--org", "acme")
        self.assertEqual(status, 1)
        self.assertIn(f"BROKEN at #{seq} (checkpoint: checkpoint: entry gone)", out)

    def test_it_catches_truncation_with_a_witness(self):
        seq, digest = self.head(self.acme)
        sql("DELETE FROM audit_auditentry WHERE org_id = %s AND seq = %s", [self.acme.pk, seq])
        self.assertEqual(run("--org", "acme")[0], 0)  # invisible without a witness
        status, out, _ = run("--org", "acme", "--witness", f"{seq}:{digest}")
        self.assertEqual(status, 1)
        self.assertIn(f"BROKEN at #{seq} (checkpoint: witness {seq}: entry gone)", out)

    def test_it_exits_2_on_bad_usage(self):
        for args, message in [
            (["--org", "nope"], "no organization 'nope'"),
            (["--witness", "3:abcd"], "HASH must be 64 hex digits"),
            (["--org", "acme", "--witness", "x:" + "0" * 64], "not SEQ:HASH"),
            (["--org", "acme", "--witness", "0:" + "0" * 64], "not SEQ:HASH"),
            (["--witness", "1:" + "0" * 64], "give --org too"),
            (["--bogus"], "unrecognized arguments"),
        ]:
            with self.subTest(args=args):
                status, _, err = run(*args)
                self.assertEqual(status, 2)
                self.assertIn(message, err)
