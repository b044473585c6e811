"""Verifying organizations' chains from the database, streaming in constant memory.

Entries and checkpoints are read through server-side cursors (PostgreSQL) in
one REPEATABLE READ snapshot, so appends made meanwhile neither disturb nor
fake a result. Rows go through ``audit.chain.verify``.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import signing
from audit.chain import Expectation, Result, Row, RowFields, verify
from audit.models import AuditEntry, ChainStatus, Checkpoint
from ony.models import Organization

CHUNK = 2000


@dataclass(frozen=True)
class ChainReport:
    org: Organization
    result: Result

    @property
    def ok(self) -> bool:
        return self.result.ok

    def as_dict(self) -> dict:
        return {"org": self.org.slug, "org_id": self.org.public_id, **result_dict(self.result)}


def result_dict(result: Result) -> dict:
    """A verification's result as JSON-ready values (``verify_chain --json``)."""
    failure = result.failure
    return {
        "ok": result.ok,
        "entries": result.entries,
        "checkpoints_checked": result.checkpoints,
        "witnesses_checked": result.witnesses,
        "verified_through": result.head_seq,
        "head_hash": result.head_hash.hex() if result.head_seq else None,
        "failure": failure
        and {"seq": failure.seq, "kind": failure.kind.value, "detail": failure.detail},
    }


def _rows(org: Organization) -> Iterator[RowFields]:
    """The org's entries in seq order as ``Row`` fields, streamed; call inside a transaction.

    On PostgreSQL through a server-side cursor in binary format (hashes cross
    the wire as bytes, not hex text); elsewhere through the ORM's iterator.
    """
    entries = AuditEntry.objects.for_org(org).order_by("seq").values_list(*Row._fields)
    if connection.vendor != "postgresql":
        yield from entries.iterator(CHUNK)
        return
    sql, params = entries.query.sql_with_params()
    connection.ensure_connection()
    with connection.connection.cursor(name="ony_verify_chain", binary=True) as cursor:
        cursor.itersize = CHUNK
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(CHUNK):
            yield from batch


def _checkpoints(org: Organization) -> Iterator[Expectation]:
    """Each stored checkpoint as an expectation; a bad signature or note marks it invalid."""
    stored = (
        Checkpoint.objects.for_org(org)
        .order_by("seq")
        .values_list("seq", "hash", "note", "signature")
    )
    for seq, digest, note, signature in stored.iterator(CHUNK):
        yield checkpoint_expectation(org.public_id, seq, bytes(digest), note, signature)


def checkpoint_expectation(
    org_id: str, seq: int, digest: bytes, note: str, signature: str
) -> Expectation:
    """A stored or exported checkpoint as an expectation; marked invalid unless its
    note names this org, seq and hash and a checkpoint key signed it."""
    try:
        fields = json.loads(note)
        matches = (fields["org"], fields["seq"], fields["hash"]) == (org_id, seq, digest.hex())
    except (ValueError, KeyError, TypeError):
        matches = False
    valid = matches and signing.verify(note.encode(), signature)
    return Expectation(seq, digest, "checkpoint", valid)


def verify_org(org: Organization, witnesses: Iterable[Expectation] = ()) -> ChainReport:
    """Verify ``org``'s chain, its stored checkpoints and the given witnesses."""
    # One snapshot for entries and checkpoints. Inside a caller's transaction
    # the isolation level is the caller's; on its own this opens a
    # REPEATABLE READ one.
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if own_transaction and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        expectations = heapq.merge(
            sorted(witnesses, key=lambda e: e.seq), _checkpoints(org), key=lambda e: e.seq
        )
        result = verify(org.public_id, _rows(org), settings.ONY_AUDIT_KEYS, expectations)
    _record(org, result)
    return ChainReport(org, result)


def _record(org: Organization, result: Result) -> None:
    """Keep the outcome for the dashboard (``ChainStatus``); the chain itself is unchanged."""
    failure = result.failure
    ChainStatus.objects.update_or_create(
        org=org,
        defaults={
            "verified_at": timezone.now(),
            "ok": result.ok,
            "entries": result.entries,
            "checkpoints": result.checkpoints,
            "failure": f"#{failure.seq} {failure.kind.value}: {failure.detail}"[:200]
            if failure
            else "",
        },
    )


def verify_orgs(orgs: Iterable[Organization]) -> list[ChainReport]:
    return [verify_org(org) for org in orgs]


def verify_all() -> int:
    """Verify every chain, one at a time, each in constant memory; return how many broke."""
    return sum(1 for report in verify_orgs(Organization.objects.order_by("pk")) if not report.ok)


def parse_witness(text: str) -> Expectation:
    """``SEQ:HASH`` (HASH as 64 hex digits) -> an expectation; ``ValueError`` otherwise."""
    seq_text, sep, hash_text = text.partition(":")
    if not sep or not seq_text.isdigit() or int(seq_text) < 1:
        raise ValueError(f"witness {text!r} is not SEQ:HASH with SEQ >= 1")
    try:
        digest = bytes.fromhex(hash_text)
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise ValueError(f"witness {text!r}: HASH must be 64 hex digits")
    return Expectation(int(seq_text), digest, f"witness {seq_text}")


def verify_chains(
    slug: str | None = None, witnesses: Iterable[Expectation] = ()
) -> list[ChainReport]:
    """Verify one organization's chain (``slug``) or every organization's.

    Witnesses name entries of one chain, so they need ``slug``. Raises
    ``LookupError`` for an unknown slug and ``ValueError`` for witnesses
    without one. This is installation-wide, for operators and auditors: it
    reads every organization on purpose.
    """
    witnesses = list(witnesses)
    if slug is None:
        if witnesses:
            raise ValueError("a witness names an entry of one chain: give --org too")
        return verify_orgs(Organization.objects.order_by("slug"))
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        raise LookupError(f"no organization {slug!r}")
    return [verify_org(org, witnesses)]
