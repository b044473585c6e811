"""Verifying the audit section of an organization export, without a database.

``lifecycle.export`` writes an org's entries (canonical text, key id, prev
hash and hash) and its signed checkpoints under ``"audit"``. They go through
the same ``audit.chain.verify`` as the stored chain: the entries' MACs need
this installation's audit keys (``ONY_AUDIT_KEYS``), the checkpoints its
current or retired checkpoint keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings

from audit.chain import Expectation, Failure, FailureKind, Result, RowFields, verify
from audit.verification import checkpoint_expectation

#: The version of the export document this module reads (``lifecycle.export`` writes it).
FORMAT = "ony-export-v1"


class NotAnExport(ValueError):
    """The file is not an Ony organization export (or not one this version reads)."""


def verify_export_file(path: str | Path) -> tuple[str, Result]:
    """(the exported org's id, the result of verifying its chain); ``NotAnExport`` if unreadable."""
    try:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deep" if isinstance(exc, RecursionError) else exc
        raise NotAnExport(f"cannot read {path}: {reason}") from None
    return verify_export(document)


def verify_export(document: Any) -> tuple[str, Result]:
    """Verify a parsed export's chain; ``NotAnExport`` if its shape is wrong.

    Beyond the chain itself (gaps, links, MACs, checkpoints), an export must
    end with its own ``export.created`` entry and the checkpoint signed at it
    (``lifecycle.export`` makes both), and its chain must be its
    organization's: so a cut tail, an emptied chain or another org's chain
    fails as ``checkpoint``. The other sections are not in the chain; compare
    them with its entries (``handoff.decided`` and the rest).
    """
    try:
        if document["format"] != FORMAT:
            raise NotAnExport(f"unknown export format {document['format']!r}")
        section = document["audit"]
        org_id = section["org"]
        if not isinstance(org_id, str):
            raise NotAnExport("audit.org is not an organization id")
        rows = list(_rows(section["entries"]))
        expectations = list(_expectations(org_id, section["checkpoints"]))
        organization_id = document["organization"]["id"]
    except NotAnExport:
        raise
    except KeyError as exc:
        raise NotAnExport(f"not an Ony export: it has no {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError, OverflowError):
        raise NotAnExport("not an Ony export: a field has the wrong type or value") from None
    result = verify(org_id, rows, settings.ONY_AUDIT_KEYS, expectations)
    if not result.ok:
        return org_id, result
    cut = _why_cut(org_id, organization_id, rows, expectations)
    if cut:
        failure = Failure(result.head_seq + 1, FailureKind.CHECKPOINT, cut)
        return org_id, replace(result, failure=failure)
    return org_id, result


def _why_cut(
    org_id: str, organization_id: Any, rows: list[RowFields], expectations: list[Expectation]
) -> str:
    """Why a chain that verifies is not a whole export of its organization ("" if it is)."""
    if organization_id != org_id:
        return "the chain is not this export's organization's"
    if not rows or rows[-1][5] != "export.created":
        return "the export's own export.created entry is not its last: the chain was cut"
    last_seq = rows[-1][0]
    if not any(e.seq == last_seq and e.valid for e in expectations):
        return "no signed checkpoint at the export's own entry: the chain was cut"
    return ""


def _number(value: Any) -> int:
    """A seq: a JSON integer, nothing else (not a float, a string or a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("a seq is an integer")
    return value


def _text(value: Any) -> str:
    """A JSON string that UTF-8 can carry (no lone surrogates)."""
    if not isinstance(value, str):
        raise TypeError("not a string")
    value.encode("utf-8")  # UnicodeEncodeError is a ValueError
    return value


def _rows(entries: list[Mapping[str, Any]]) -> Iterator[RowFields]:
    for e in entries:
        yield (
            _number(e["seq"]),
            _text(e["key_id"]),
            bytes.fromhex(_text(e["prev_hash"])),
            bytes.fromhex(_text(e["hash"])),
            _text(e["canonical"]),
            _text(e["event"]),
            _text(e["actor"]),
            _text(e["subject"]),
        )


def _expectations(org_id: str, checkpoints: list[Mapping[str, Any]]) -> Iterator[Expectation]:
    for c in checkpoints:
        digest = bytes.fromhex(_text(c["hash"]))
        yield checkpoint_expectation(
            org_id, _number(c["seq"]), digest, _text(c["note"]), _text(c["signature"])
        )
