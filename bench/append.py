"""Benchmark: appends to one organization's chain from 32 concurrent writers (PostgreSQL).

    python bench/append.py [--writers 32] [--per-writer 100] [--processes 1]

Each writer is a thread with its own database connection (spread over
``--processes`` forked processes, as a server's gunicorn workers and Celery
processes are; by default all in one), appending one
handoff.created event per transaction through audit.services.append (the
path every change takes), all to the same organization. Reports appends per
second and per-append latency, then verifies the chain is unbroken.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import benchdb


def writers(org, first: int, count: int, per_writer: int, barrier) -> tuple[list, list]:
    """Run ``count`` writer threads (numbered from ``first``); their latencies and errors."""
    from django.db import connection, transaction

    from audit import services as audit
    from audit.events import Event

    data = {"action": "deploy.production", "risk": "critical", "target": "prod-api"}
    latencies: list[float] = []
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        mine = []
        try:
            connection.ensure_connection()
            barrier.wait()
            for i in range(per_writer):
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

    threads = [threading.Thread(target=writer, args=(first + n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def _process(org_pk: int, first: int, count: int, per_writer: int, barrier, results) -> None:
    """One writer process (forked): its threads append; latencies and errors go to ``results``."""
    from ony.models import Organization

    org = Organization.objects.get(pk=org_pk)
    latencies, errors = writers(org, first, count, per_writer, barrier)
    results.put((latencies, [repr(error) for error in errors]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--per-writer", type=int, default=100)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="Spread the writers over this many processes (as a server's workers are).",
    )
    args = parser.parse_args()
    if args.writers % args.processes:
        sys.exit("--writers must be a multiple of --processes")
    benchdb.ensure_database()
    benchdb.django_setup(migrate=True)

    from django.db import connection

    from audit.verification import verify_org
    from ony.models import Organization

    # Chains are append-only, so each run gets an organization of its own.
    org = Organization.objects.create(
        name="Bench append", slug=f"bench-append-{uuid.uuid4().hex[:8]}"
    )
    connection.close()  # forked processes must not share it
    per_process = args.writers // args.processes
    if args.processes == 1:
        barrier = threading.Barrier(args.writers + 1)
        outcome: dict = {}
        runner = threading.Thread(
            target=lambda: outcome.update(
                result=writers(org, 0, args.writers, args.per_writer, barrier)
            )
        )
        runner.start()
        barrier.wait()
        began = time.perf_counter()
        runner.join()
        seconds = time.perf_counter() - began
        latencies, errors = outcome["result"]
    else:
        context = multiprocessing.get_context("fork")
        barrier = context.Barrier(args.writers + 1)
        results = context.Queue()
        processes = [
            context.Process(
                target=_process,
                args=(org.pk, p * per_process, per_process, args.per_writer, barrier, results),
            )
            for p in range(args.processes)
        ]
        for process in processes:
            process.start()
        barrier.wait()
        began = time.perf_counter()
        gathered = [results.get() for _ in processes]
        seconds = time.perf_counter() - began
        for process in processes:
            process.join()
        latencies = [value for mine, _ in gathered for value in mine]
        errors = [error for _, theirs in gathered for error in theirs]
    if errors:
        sys.exit(f"{len(errors)} writers failed: {errors[0]!r}")

    report = verify_org(org)
    total = args.writers * args.per_writer
    quantiles = statistics.quantiles(latencies, n=100)
    where = f" in {args.processes} processes" if args.processes > 1 else ""
    print(
        f"{total} appends from {args.writers} writers{where} in {seconds:.2f} s: "
        f"{total / seconds:,.0f}/s"
    )
    print(
        f"latency per append: p50 {quantiles[49] * 1000:.1f} ms, p99 {quantiles[98] * 1000:.1f} ms"
    )
    state = "unbroken" if report.ok else report.result.failure
    print(f"chain: {state}, {report.result.entries} entries")


if __name__ == "__main__":
    main()
