"""Benchmark: appends to one organization's chain from 32 concurrent writers (PostgreSQL).

    python bench/append.py [--writers 32] [--per-writer 100]

Each writer is a thread with its own database connection, appending one
handoff.created event per transaction through audit.services.append (the
path every change takes), all to the same organization. Reports appends per
second and per-append latency, then verifies the chain is unbroken.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import benchdb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--per-writer", type=int, default=100)
    args = parser.parse_args()
    benchdb.ensure_database()
    benchdb.django_setup(migrate=True)

    from django.db import connection, transaction

    from audit import services as audit
    from audit.events import Event
    from audit.verification import verify_org
    from ony.models import Organization

    # Chains are append-only, so each run gets an organization of its own.
    org = Organization.objects.create(
        name="Bench append", slug=f"bench-append-{uuid.uuid4().hex[:8]}"
    )
    data = {"action": "deploy.production", "risk": "critical", "target": "prod-api"}
    latencies: list[float] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(args.writers + 1)

    def writer(n: int) -> None:
        mine = []
        try:
            connection.ensure_connection()
            barrier.wait()
            for i in range(args.per_writer):
                began = time.perf_counter()
                with transaction.atomic():
                    audit.append(
                        org, Event.HANDOFF_CREATED, "dev_2b7e4a90c1d3", f"req_{n:04x}{i:08x}", data
                    )
                mine.append(time.perf_counter() - began)
        except BaseException as exc:
            errors.append(exc)
        finally:
            latencies.extend(mine)
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(args.writers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if errors:
        sys.exit(f"{len(errors)} writers failed: {errors[0]!r}")

    report = verify_org(org)
    total = args.writers * args.per_writer
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"{total} appends from {args.writers} writers in {seconds:.2f} s: {total / seconds:,.0f}/s"
    )
    print(
        f"latency per append: p50 {quantiles[49] * 1000:.1f} ms, p99 {quantiles[98] * 1000:.1f} ms"
    )
    state = "unbroken" if report.ok else report.result.failure
    print(f"chain: {state}, {report.result.entries} entries")


if __name__ == "__main__":
    main()
