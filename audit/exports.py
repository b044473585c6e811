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
from pathlib import Path
from typing import Any

from django.conf import settings

from audit.chain import Expectation, Result, RowFields, verify
from audit.verification import checkpoint_expectation


class NotAnExport(ValueError):
    """The file is not an Ony organization export (or not one this version reads)."""


def verify_export_file(path: str | Path) -> tuple[str, Result]:
    """(the exported org's id, the result of verifying its chain); ``NotAnExport`` if unreadable."""
    try:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NotAnExport(f"cannot read {path}: {exc}") from None
    return verify_export(document)


def verify_export(document: Any) -> tuple[str, Result]:
    """Verify a parsed export's chain; ``NotAnExport`` if its shape is wrong."""
    try:
        if document["format"] != "ony-export-v1":
            raise NotAnExport(f"unknown export format {document['format']!r}")
        section = document["audit"]
        org_id = section["org"]
        if not isinstance(org_id, str):
            raise NotAnExport("audit.org is not an organization id")
        rows = list(_rows(section["entries"]))
        expectations = list(_expectations(org_id, section["checkpoints"]))
    except NotAnExport:
        raise
    except KeyError as exc:
        raise NotAnExport(f"not an Ony export: it has no {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError):
        raise NotAnExport("not an Ony export: a field has the wrong type or value") from None
    return org_id, verify(org_id, rows, settings.ONY_AUDIT_KEYS, expectations)


def _rows(entries: list[Mapping[str, Any]]) -> Iterator[RowFields]:
    for e in entries:
        yield (
            int(e["seq"]),
            str(e["key_id"]),
            bytes.fromhex(e["prev_hash"]),
            bytes.fromhex(e["hash"]),
            str(e["canonical"]),
            str(e["event"]),
            str(e["actor"]),
            str(e["subject"]),
        )


def _expectations(org_id: str, checkpoints: list[Mapping[str, Any]]) -> Iterator[Expectation]:
    for c in checkpoints:
        digest = bytes.fromhex(c["hash"])
        yield checkpoint_expectation(
            org_id, int(c["seq"]), digest, str(c["note"]), str(c["signature"])
        )
