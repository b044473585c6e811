"""The keyed hash chain itself: hashing one entry and verifying a stream of them.

Pure functions over plain values, no database: the vectors and the property
tests drive them directly, and ``audit.verification`` feeds them rows.

``hash_N = HMAC-SHA256(key, b"ony-audit-v1\\n" + prev_hash_N + canonical_N)``
with ``prev_hash_1`` 32 zero bytes (shown as ``genesis``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

DOMAIN = b"ony-audit-v1\n"
GENESIS = bytes(32)


class FailureKind(StrEnum):
    """Why verification stopped, in the order they are checked for each entry."""

    GAP = "gap"  # a seq is missing: reported at the missing seq
    LINK = "link"  # prev_hash is not the previous entry's hash
    MAC = "mac"  # the hash does not authenticate the entry's content
    CHECKPOINT = "checkpoint"  # a witness or signed checkpoint disagrees, or is gone


def entry_hash(key: bytes, prev_hash: bytes, canonical: bytes) -> bytes:
    return hmac.new(key, DOMAIN + prev_hash + canonical, hashlib.sha256).digest()


def show_hash(value: bytes) -> str:
    """Hex, with the first entry's all-zero predecessor shown as ``genesis``."""
    return "genesis" if value == GENESIS else value.hex()


class Row(NamedTuple):
    """One stored entry as the verifier sees it: its hashed text and its columns.

    ``event``, ``actor`` and ``subject`` are columns the dashboard searches;
    they, the org and the seq must be the ones the canonical text holds.
    """

    seq: int
    key_id: str
    prev_hash: bytes
    hash: bytes
    canonical: str
    event: str
    actor: str
    subject: str


#: A ``Row``'s fields in its order as a plain tuple, as a database cursor or
#: ``values_list(*Row._fields)`` yields them; a ``Row`` is one too.
RowFields = tuple[int, str, bytes, bytes, str, str, str, str]


@dataclass(frozen=True, slots=True)
class Expectation:
    """Entry ``seq`` must exist and have ``hash`` (a witness or a checkpoint's head)."""

    seq: int
    hash: bytes
    source: str = "witness"
    valid: bool = True  # False: a checkpoint whose own signature failed


@dataclass(frozen=True, slots=True)
class Failure:
    seq: int
    kind: FailureKind
    detail: str


@dataclass(frozen=True, slots=True)
class Result:
    entries: int  # entries read
    head_seq: int  # last verified seq (0: none)
    head_hash: bytes
    failure: Failure | None
    checkpoints: int = 0  # checkpoints that matched
    witnesses: int = 0  # witnesses that matched

    @property
    def ok(self) -> bool:
        return self.failure is None


def verify(
    org_id: str,
    rows: Iterable[RowFields],
    keys: Mapping[str, bytes],
    expectations: Iterable[Expectation] = (),
) -> Result:
    """Walk the chain of org ``org_id`` in seq order; report the first failure.

    Constant memory. For each entry the checks run in the order gap, link,
    mac (which includes the row's columns agreeing with its hashed text),
    checkpoint.
    ``expectations`` (sorted by seq, each seq >= 1) are checked as their seq
    is reached; any left when the rows end name entries that are gone
    (truncation).
    """
    bases = {key_id: hmac.new(key, DOMAIN, hashlib.sha256) for key_id, key in keys.items()}
    pending: Iterator[Expectation] = iter(expectations)
    expected = next(pending, None)
    prev_seq, prev_hash, count = 0, GENESIS, 0
    matched = {"checkpoint": 0, "witness": 0}

    def fail(seq: int, kind: FailureKind, detail: str) -> Result:
        failure = Failure(seq, kind, detail)
        return Result(count, prev_seq, prev_hash, failure, *matched.values())

    # Canonical JSON sorts its keys, so an entry's text starts with
    # {"actor":ACTOR,"at":" and ends with ,"event":EVENT,"org":ORG,"seq":SEQ,
    # "subject":SUBJECT,"v":1}; the ids need no escaping (audit.events).
    org_part = f'","org":"{org_id}","seq":'
    for seq, key_id, row_prev, row_hash, text, event, actor, subject in rows:
        count += 1
        if seq != prev_seq + 1:
            return fail(prev_seq + 1, FailureKind.GAP, f"next stored entry is {seq}")
        if row_prev != prev_hash:
            return fail(seq, FailureKind.LINK, "prev_hash is not the previous entry's hash")
        base = bases.get(key_id)
        if base is None:
            return fail(seq, FailureKind.MAC, f"unknown audit key id {key_id!r}")
        mac = base.copy()
        mac.update(row_prev)
        mac.update(text.encode())
        if not hmac.compare_digest(mac.digest(), row_hash):
            return fail(seq, FailureKind.MAC, "hash does not match the entry")
        if not (
            text.startswith(f'{{"actor":"{actor}","at":"')
            and text.endswith(f',"event":"{event}{org_part}{seq},"subject":"{subject}","v":1}}')
        ):
            return fail(seq, FailureKind.MAC, "stored columns differ from the hashed entry")
        while expected is not None and expected.seq == seq:
            if not expected.valid:
                return fail(seq, FailureKind.CHECKPOINT, f"{expected.source}: bad signature")
            if not hmac.compare_digest(expected.hash, row_hash):
                return fail(seq, FailureKind.CHECKPOINT, f"{expected.source}: hash differs")
            matched["checkpoint" if expected.source == "checkpoint" else "witness"] += 1
            expected = next(pending, None)
        prev_seq, prev_hash = seq, row_hash
    if expected is not None:
        return fail(expected.seq, FailureKind.CHECKPOINT, f"{expected.source}: entry gone")
    return Result(count, prev_seq, prev_hash, None, *matched.values())
