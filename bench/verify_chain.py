"""Benchmark: verify a 1,000,000-entry chain; compare with a bare HMAC loop (the floor).

    python bench/verify_chain.py [--entries 1000000]

Fills organization ``bench-verify`` in the benchmark database once (COPY of
rows hashed here exactly as audit.append hashes them), then measures, each in
a fresh process so that peak memory is its own:

- ``verify``: audit.verification.verify_org over the whole chain (the path
  `manage.py verify_chain` takes), wall time and peak RSS;
- ``floor``: HMAC-SHA256 over the same (prev_hash + canonical) bytes already
  in memory, no database and no checks.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import benchdb


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def slug(entries: int) -> str:
    return f"bench-verify-{entries}"


def fill(entries: int) -> None:
    from datetime import UTC, datetime, timedelta

    from django.conf import settings
    from django.db import connection

    from audit.chain import GENESIS, entry_hash
    from audit.models import AuditEntry
    from audit.services import format_entry_time
    from ony.canonical import canonical
    from ony.models import Organization

    org, _ = Organization.objects.get_or_create(slug=slug(entries), defaults={"name": "Bench"})
    have = AuditEntry.objects.for_org(org).count()
    if have == entries:
        return
    if have:
        sys.exit(f"{org.slug} is half filled: drop database {benchdb.BENCH_DB} and start again")
    key_id, key = next(iter(settings.ONY_AUDIT_KEYS.items()))
    start = datetime(2026, 6, 30, 14, 0, tzinfo=UTC)
    prev = GENESIS
    columns = "org_id, seq, key_id, canonical, prev_hash, hash, event, actor, subject, created_at"
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY audit_auditentry ({columns}) FROM STDIN") as copy,
    ):
        for seq in range(1, entries + 1):
            at = start + timedelta(milliseconds=seq)
            subject = f"req_{seq:012x}"
            data = {"action": "deploy.production", "risk": "critical", "target": "prod-api"}
            text = canonical(
                {
                    "v": 1,
                    "org": org.public_id,
                    "seq": seq,
                    "event": "handoff.created",
                    "actor": "dev_2b7e4a90c1d3",
                    "subject": subject,
                    "data": data,
                    "at": format_entry_time(at),
                }
            )
            digest = entry_hash(key, prev, text)
            copy.write_row(
                (org.pk, seq, key_id, text.decode(), prev, digest, "handoff.created",
                 "dev_2b7e4a90c1d3", subject, at)
            )  # fmt: skip
            prev = digest


def measure_verify(entries: int) -> dict:
    from audit.verification import verify_org
    from ony.models import Organization

    org = Organization.objects.get(slug=slug(entries))
    began = time.perf_counter()
    report = verify_org(org)
    seconds = time.perf_counter() - began
    assert report.ok, report.result.failure
    return {"entries": report.result.entries, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def measure_floor(entries: int) -> dict:
    import hashlib
    import hmac

    from django.conf import settings

    from audit.chain import DOMAIN
    from audit.models import AuditEntry

    key = next(iter(settings.ONY_AUDIT_KEYS.values()))
    rows = AuditEntry.objects.filter(org__slug=slug(entries)).order_by("seq")
    messages = [
        bytes(prev) + text.encode()
        for prev, text in rows.values_list("prev_hash", "canonical").iterator(5000)
    ]
    began = time.perf_counter()
    for message in messages:
        hmac.new(key, DOMAIN + message, hashlib.sha256).digest()
    return {"entries": len(messages), "seconds": time.perf_counter() - began}


def child(mode: str, entries: int) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--entries", str(entries)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["verify", "floor"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        benchdb.django_setup()
        measure = measure_verify if args.child == "verify" else measure_floor
        print(json.dumps(measure(args.entries)))
        return
    benchdb.django_setup(migrate=True)
    began = time.perf_counter()
    fill(args.entries)
    print(f"chain of {args.entries} entries ready in {time.perf_counter() - began:.1f} s")
    verify, floor = child("verify", args.entries), child("floor", args.entries)
    rate = verify["entries"] / verify["seconds"]
    print(f"verify: {verify['entries']} entries in {verify['seconds']:.2f} s ({rate:,.0f}/s)")
    print(f"        peak RSS {verify['peak_rss_mb']:.0f} MB")
    print(f"floor:  HMAC-SHA256 over the same bytes in memory: {floor['seconds']:.2f} s")
    print(f"ratio:  verify / floor = {verify['seconds'] / floor['seconds']:.1f}x")


if __name__ == "__main__":
    main()
