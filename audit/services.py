"""Writing to the audit chain: ``append`` an event, sign a ``checkpoint``."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from audit import signing
from audit.chain import GENESIS, entry_hash
from audit.events import ACTOR, FORBIDDEN_DATA_KEYS, SUBJECT, Event
from audit.models import AuditEntry, Checkpoint
from ony.canonical import canonical, encode, normalize
from ony.models import Membership, Organization
from ony.phone import contains_phone_number

# pg_advisory_xact_lock(namespace, org pk): one lock per organization's chain.
LOCK_NAMESPACE = 0x4F4E59  # "ONY"


def format_entry_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z``: ``2026-06-30T14:22:01.000000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def actor_for(user: Any, org: Organization) -> str:
    """The pseudonymous id that stands for ``user`` acting on ``org``.

    Their membership's ``mem_`` id; an operator acting on an org they do not
    belong to appears as their ``usr_`` id.
    """
    membership = Membership.objects.for_org(org).filter(user=user).only("public_id").first()
    return membership.public_id if membership else user.public_id


def _check_data(value: Any, where: str = "data") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.lower() in FORBIDDEN_DATA_KEYS:
                raise ValueError(f"{where}.{key}: secrets and payloads stay out of the audit log")
            _check_data(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_data(item, f"{where}[{index}]")
    elif isinstance(value, str) and contains_phone_number(value):
        raise ValueError(f"{where}: phone numbers are masked in the audit log")


def _fast_cursor(db: BaseDatabaseWrapper) -> Any:
    """A cursor for the statements run while the chain lock is held.

    On PostgreSQL, psycopg's own cursor with server-side parameter binding on
    the same connection (so inside the caller's transaction): the parameters
    travel apart from the statement, bytes in binary, instead of being quoted
    into its text, and Django's cursor wrapper is skipped (about 15% more
    appends per second in bench/append.py); elsewhere Django's cursor.
    Statements are not prepared: Django leaves psycopg's ``prepare_threshold``
    off, which keeps transaction-pooling PgBouncer working, and preparing the
    INSERT gained only 2 to 5% (docs/PERFORMANCE.md). Callers wrap its use in
    ``db.wrap_database_errors`` so errors are Django's.
    """
    if db.vendor != "postgresql":
        return db.cursor()
    db.ensure_connection()
    return psycopg.Cursor(db.connection)


def lock_and_head_sql(org_pk: int) -> str:
    """Take ``org_pk``'s chain lock, then read its head: one simple query, two statements.

    Integers inlined (a simple query takes no parameters): the second
    statement gets a fresh READ COMMITTED snapshot, taken after the lock is
    granted, which one statement with parameters would take before.
    """
    org_pk = int(org_pk)
    return (
        f"SELECT pg_advisory_xact_lock({LOCK_NAMESPACE}, {org_pk}); "  # noqa: S608 (ints only)
        f"SELECT seq, hash FROM audit_auditentry WHERE org_id = {org_pk} "
        "ORDER BY seq DESC LIMIT 1"
    )


def hold_chain(org: Organization | int) -> None:
    """Take ``org``'s chain lock now, before locking any row the org's appends point at.

    For a change that locks the organization's (or a member's, or a device's)
    row and then appends: every create holds the chain lock while its foreign
    keys to those rows are checked (at COMMIT: Django's are deferred), so the
    lock order must be the chain first, then rows (``FOR NO KEY UPDATE``),
    everywhere. The later append takes the lock again (it stacks
    within the transaction). Call inside the caller's transaction.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if not db.in_atomic_block:
        raise RuntimeError("hold_chain must run inside the caller's transaction")
    if db.vendor == "postgresql":
        org_pk = org if isinstance(org, int) else org.pk
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, org_pk])


def _lock_chain(db: BaseDatabaseWrapper, org: Organization) -> tuple[int, bytes]:
    """Serialize appends to ``org``'s chain until the caller's transaction ends; return its head.

    On PostgreSQL the advisory lock and the head are one round trip
    (``lock_and_head_sql``). The time spent holding the lock bounds every
    org's append rate. SQLite needs no lock here: its transactions take the
    database's write lock when they begin (``transaction_mode: IMMEDIATE`` in
    settings).
    """
    if db.vendor == "postgresql":
        with _fast_cursor(db) as cursor, db.wrap_database_errors:
            cursor.execute(lock_and_head_sql(org.pk))
            cursor.nextset()
            head = cursor.fetchone()
    else:
        head = AuditEntry.objects.for_org(org).order_by("-seq").values_list("seq", "hash").first()
    return (head[0], bytes(head[1])) if head else (0, GENESIS)


def append(
    org: Organization,
    event: Event | str,
    actor: str,
    subject: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one event to ``org``'s chain and return the new entry.

    Must run inside the caller's transaction (``transaction.atomic``), so the
    entry commits or rolls back with the change it records. The org's chain
    stays locked until that transaction ends, so callers append last and
    commit soon after. ``actor`` is a pseudonymous id, ``data`` canonical JSON
    without secrets, payloads or unmasked phone numbers; anything else raises
    ``ValueError``.
    """
    return append_many(org, [(event, actor, subject, data)])[0]


#: One event to append: ``(event, actor, subject, data)``.
Item = tuple["Event | str", str, str, "dict[str, Any] | None"]


def append_many(org: Organization, items: list[Item]) -> list[AuditEntry]:
    """Append several events to ``org``'s chain in order, as ``append`` does each.

    The chain's head is read once, under the lock, for all of them: one
    round trip fewer per event after the first.
    """
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the proxy is a thread-local lookup
    if not db.in_atomic_block:
        raise RuntimeError("audit.append must run inside the caller's transaction")
    key_id, key = next(iter(settings.ONY_AUDIT_KEYS.items()))
    prepared = [_prepared(org, key_id, *item) for item in items]

    # Everything from here to the caller's commit holds the org's chain lock.
    seq, prev_hash = _lock_chain(db, org)
    now = timezone.now()
    for entry, fields in prepared:
        seq += 1
        entry.seq, entry.prev_hash, entry.created_at = seq, prev_hash, now
        fields["seq"], fields["at"] = seq, format_entry_time(now)
        text = encode(fields)
        entry.canonical, entry.hash = text.decode("utf-8"), entry_hash(key, prev_hash, text)
        prev_hash = entry.hash
    entries = [entry for entry, _ in prepared]
    _insert(db, entries)
    if settings.ONY_CHECKPOINT_ON_COMMIT:
        transaction.on_commit(partial(checkpoint_after_commit, org.pk), using=DEFAULT_DB_ALIAS)
    return entries


def checkpoint_after_commit(org_pk: int) -> None:
    """Sign ``org_pk``'s head now that its appends committed (``ONY_CHECKPOINT_ON_COMMIT``).

    The embedded mode has no beat to do it every minute; without a checkpoint
    after the newest entries, deleting them would go unnoticed. Several
    appends in one transaction ask more than once; after the first, the head
    is already signed and nothing is done.
    """
    org = Organization.objects.filter(pk=org_pk).first()
    if org is not None:
        checkpoint(org)


def _prepared(
    org: Organization,
    key_id: str,
    event: Event | str,
    actor: str,
    subject: str = "",
    data: dict[str, Any] | None = None,
) -> tuple[AuditEntry, dict[str, Any]]:
    """The entry without its place in the chain, and its canonical fields so far."""
    event = Event(event)
    if not ACTOR.match(actor):
        raise ValueError(f"actor {actor!r} is not a pseudonymous id (mem_/dev_/usr_/system)")
    if not SUBJECT.match(subject):
        raise ValueError(f"subject {subject!r} is not an id")
    data = normalize(data or {})
    _check_data(data)
    # The other fields are ASCII ids checked above: canonical as they stand.
    fields = {
        "v": 1,
        "org": org.public_id,
        "event": event.value,
        "actor": actor,
        "subject": subject,
        "data": data,
    }
    entry = AuditEntry(
        org_id=org.pk, key_id=key_id, event=event.value, actor=actor, subject=subject
    )
    return entry, fields


#: The INSERT ``append`` sends, for ``rows`` placeholders of ``ROW``.
INSERT_SQL = (
    "INSERT INTO audit_auditentry "
    "(org_id, seq, key_id, canonical, prev_hash, hash, event, actor, subject, created_at) "
    "VALUES {rows} RETURNING id"
)
ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


def _insert(db: BaseDatabaseWrapper, entries: list[AuditEntry]) -> None:
    """INSERT ``entries`` with one plain statement (one round trip however many).

    It runs while the chain's lock is held, where every microsecond bounds the
    org's append rate; the ORM's save() costs several times more Python.
    """
    sql = INSERT_SQL.format(rows=", ".join([ROW] * len(entries)))
    params: list[Any] = []
    for entry in entries:
        params += [
            entry.org_id,
            entry.seq,
            entry.key_id,
            entry.canonical,
            entry.prev_hash,
            entry.hash,
            entry.event,
            entry.actor,
            entry.subject,
            entry.created_at,
        ]
    with _fast_cursor(db) as cursor, db.wrap_database_errors:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    for entry, pk in zip(entries, ids, strict=True):
        entry.pk = pk
        entry._state.adding = False
        entry._state.db = db.alias


@transaction.atomic
def checkpoint(org: Organization) -> Checkpoint | None:
    """Sign ``org``'s current head, unless it is empty or already signed."""
    seq, head_hash = _lock_chain(connections[DEFAULT_DB_ALIAS], org)
    if seq == 0:
        return None
    if Checkpoint.objects.for_org(org).filter(seq__gte=seq).exists():
        return None
    now = timezone.now()
    note = canonical(
        {
            "v": 1,
            "org": org.public_id,
            "seq": seq,
            "hash": head_hash.hex(),
            "at": format_entry_time(now),
        }
    )
    return Checkpoint.objects.create(
        org=org,
        seq=seq,
        hash=head_hash,
        note=note.decode(),
        signature=signing.sign(note),
        created_at=now,
    )


def checkpoint_all() -> int:
    """Checkpoint every organization whose chain grew; return how many were signed."""
    orgs = Organization.objects.filter(audit_entries__isnull=False).distinct()
    return sum(1 for org in orgs if checkpoint(org) is not None)
