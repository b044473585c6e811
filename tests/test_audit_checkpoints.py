"""Signed checkpoints: anyone with the public key can check one; nobody can forge one."""

from __future__ import annotations

import base64
import json
from io import StringIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import call_command
from django.test import Client, TransactionTestCase, override_settings

from audit import services as audit
from audit.events import SYSTEM, Event
from audit.models import AuditEntry, Checkpoint
from audit.tasks import checkpoint_chains
from audit.verification import verify_org
from ony import services
from ony.canonical import canonical
from tests.base import OnyTestCase
from tests.celery_worker import running_worker
from tests.tamper import sql


def public_key_from_api() -> Ed25519PublicKey:
    body = Client().get("/api/v1/audit/public-key").json()
    assert body["algorithm"] == "ed25519"
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(body["public_key"]))


def verifies(note: dict, key: Ed25519PublicKey) -> bool:
    unsigned = {k: v for k, v in note.items() if k != "signature"}
    try:
        key.verify(
            base64.b64decode(note["signature"]), b"ony-checkpoint-v1\n" + canonical(unsigned)
        )
    except Exception:
        return False
    return True


class CheckpointTests(OnyTestCase):
    def head(self):
        return AuditEntry.objects.for_org(self.acme).order_by("-seq").first()

    def test_it_signs_the_head_in_the_documented_shape(self):
        checkpoint = audit.checkpoint(self.acme)
        head = self.head()
        note = checkpoint.as_note()
        self.assertEqual(sorted(note), ["at", "hash", "org", "seq", "signature", "v"])
        self.assertEqual(
            (note["v"], note["org"], note["seq"], note["hash"]),
            (1, self.acme.public_id, head.seq, head.hash_hex),
        )
        self.assertTrue(verifies(note, public_key_from_api()))

    def test_it_does_not_sign_an_unchanged_head_twice(self):
        self.assertIsNotNone(audit.checkpoint(self.acme))
        self.assertIsNone(audit.checkpoint(self.acme))
        audit.append(self.acme, Event.DEVICE_ENROLLED, SYSTEM, "dev_aa11")
        self.assertEqual(audit.checkpoint(self.acme).seq, self.head().seq)
        self.assertEqual(Checkpoint.objects.for_org(self.acme).count(), 2)

    def test_it_rejects_a_note_with_any_field_changed(self):
        note = audit.checkpoint(self.acme).as_note()
        key = public_key_from_api()
        for field, value in [("seq", note["seq"] + 1), ("hash", "00" * 32), ("org", "org_other")]:
            with self.subTest(field):
                self.assertFalse(verifies({**note, field: value}, key))

    def test_it_fails_verification_on_a_forged_checkpoint(self):
        head = self.head()
        forger = Ed25519PrivateKey.generate()
        note = canonical(
            {"v": 1, "org": self.acme.public_id, "seq": head.seq, "hash": head.hash_hex, "at": "x"}
        )
        signature = base64.b64encode(forger.sign(b"ony-checkpoint-v1\n" + note)).decode()
        sql(
            "INSERT INTO audit_checkpoint (org_id, seq, hash, note, signature, created_at) "
            "VALUES (%s, %s, %s, %s, %s, CURRENT_TIMESTAMP)",
            [self.acme.pk, head.seq, bytes(head.hash), note.decode(), signature],
        )
        failure = verify_org(self.acme).result.failure
        self.assertEqual((failure.seq, failure.kind), (head.seq, "checkpoint"))
        self.assertIn("bad signature", failure.detail)

    def test_it_fails_verification_when_a_checkpoint_disagrees_with_the_chain(self):
        checkpoint = audit.checkpoint(self.acme)
        sql("UPDATE audit_checkpoint SET hash = %s WHERE id = %s", [b"\0" * 32, checkpoint.pk])
        failure = verify_org(self.acme).result.failure
        self.assertEqual((failure.seq, failure.kind), (checkpoint.seq, "checkpoint"))

    def test_it_keeps_old_checkpoints_valid_after_a_key_rotation(self):
        from django.conf import settings

        old_public = (
            Ed25519PrivateKey.from_private_bytes(settings.ONY_CHECKPOINT_KEY)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        audit.checkpoint(self.acme)
        with override_settings(ONY_CHECKPOINT_KEY=b"\x07" * 32):
            self.assertFalse(verify_org(self.acme).ok)  # the old key is unknown now
            with override_settings(ONY_CHECKPOINT_RETIRED_KEYS=[old_public]):
                self.assertTrue(verify_org(self.acme).ok)

    def test_it_checkpoints_every_grown_chain_from_the_command(self):
        out = StringIO()
        call_command("audit_checkpoint", stdout=out)
        self.assertEqual(out.getvalue().strip(), "2 checkpoint(s) signed")
        self.assertEqual(Checkpoint.objects.count(), 2)

    def test_it_is_scheduled_every_minute(self):
        from django.conf import settings

        schedule = settings.CELERY_BEAT_SCHEDULE["audit-checkpoints"]
        self.assertEqual(
            (schedule["task"], schedule["schedule"]), ("audit.checkpoint_chains", 60.0)
        )

    def test_it_serves_the_public_key_to_anyone(self):
        r = Client().get("/api/v1/audit/public-key")
        self.assertEqual(r.status_code, 200)
        body = r.json()
        self.assertEqual(body["signed_prefix"], "ony-checkpoint-v1\n")
        self.assertEqual(len(base64.b64decode(body["public_key"])), 32)
        self.assertNotIn("private", json.dumps(body))


class CheckpointTaskTests(TransactionTestCase):
    """Through the broker to a real worker, which sees only committed rows."""

    def test_it_checkpoints_from_the_beat_task(self):
        for slug in ("acme", "globex"):
            services.create_organization(name=slug.title(), slug=slug, actor=SYSTEM)
        with running_worker():
            self.assertEqual(checkpoint_chains.delay().get(timeout=20), 2)
        self.assertEqual(
            sorted(Checkpoint.objects.values_list("org__slug", flat=True)), ["acme", "globex"]
        )
