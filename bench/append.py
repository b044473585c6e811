"""Benchmark: appends to one organization's chain from 32 concurrent writers (PostgreSQL).

    python bench/append.py [--writers 32] [--per-writer 100] [--processes 1]
                           [--path append|atomic|bare]

Each writer is a thread with its own database connection (spread over
``--processes`` forked processes, as a server's gunicorn workers and Celery
processes are; by default all in one), appending one
handoff.created event per transaction, all to the same organization. Reports
appends per second and per-append latency, then verifies the chain is
unbroken.

``--path`` says how a writer appends:

- ``append`` (default): through audit.services.append inside
  ``transaction.atomic()``, the path every change takes;
- ``atomic``: the statements ``append`` sends, written out (no validation, no
  model instance), inside ``transaction.atomic()``;
- ``bare``: the same statements on a psycopg connection, without Django: the
  most this machine gives for them at the time of the run.

Run the three interleaved to see what Django's transactions and the append
code each cost while the machine's speed drifts.
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


def writers(org, first: int, count: int, per_writer: int, barrier, path: str) -> tuple[list, list]:
    """Run ``count`` writer threads (numbered from ``first``); their latencies and errors."""
    from django.db import connection, transaction

    from audit import services as audit
    from audit.events import Event

    data = {"action": "deploy.production", "risk": "critical", "target": "prod-api"}
    latencies: list[float] = []
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        mine = []
        bare = None
        try:
            if path == "bare":
                bare = _bare_connection()
            else:
                connection.ensure_connection()
            barrier.wait()
            for i in range(per_writer):
                subject = f"req_{n:04x}{i:08x}"
                began = time.perf_counter()
                if path == "append":
                    with transaction.atomic():
                        audit.append(org, Event.HANDOFF_CREATED, "dev_2b7e4a90c1d3", subject, data)
                elif path == "atomic":
                    with transaction.atomic():
                        _statements(connection.connection, org, subject, data)
                else:
                    assert bare is not None  # path == "bare": opened above
                    _statements(bare, org, subject, data)
                    bare.commit()
                mine.append(time.perf_counter() - began)
        except BaseException as exc:
            errors.append(exc)
        finally:
            latencies.extend(mine)
            connection.close()
            if bare is not None:
                bare.close()

    threads = [threading.Thread(target=writer, args=(first + n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def _bare_connection():
    """A psycopg connection of its own to the benchmark database (``--path bare``)."""
    import psycopg

    return psycopg.connect(benchdb.bench_url(), options="-c TimeZone=UTC")


def _statements(conn, org, subject: str, data: dict) -> None:
    """One append as the statements ``audit.append`` sends, on psycopg connection ``conn``.

    The entry is hashed as ``append`` hashes it, so the chain verifies; what is
    left out is ``append``'s validation and its model instance.
    """
    import psycopg
    from django.conf import settings
    from django.utils import timezone

    from audit import services as audit
    from audit.chain import GENESIS, entry_hash
    from ony.canonical import encode

    key_id, key = next(iter(settings.ONY_AUDIT_KEYS.items()))
    fields = {
        "v": 1,
        "org": org.public_id,
        "event": "handoff.created",
        "actor": "dev_2b7e4a90c1d3",
        "subject": subject,
        "data": data,
    }
    with psycopg.Cursor(conn) as cursor:
        cursor.execute(audit.lock_and_head_sql(org.pk))
        cursor.nextset()
        head = cursor.fetchone()
        seq, prev = (head[0] + 1, bytes(head[1])) if head else (1, GENESIS)
        now = timezone.now()
        text = encode({**fields, "seq": seq, "at": audit.format_entry_time(now)})
        row = [org.pk, seq, key_id, text.decode(), prev, entry_hash(key, prev, text)]
        cursor.execute(
            audit.INSERT_SQL.format(rows=audit.ROW),
            [*row, "handoff.created", "dev_2b7e4a90c1d3", subject, now],
        )


def _process(
    org_pk: int, first: int, count: int, per_writer: int, barrier, results, path: str
) -> None:
    """One writer process (forked): its threads append; latencies and errors go to ``results``."""
    from ony.models import Organization

    org = Organization.objects.get(pk=org_pk)
    latencies, errors = writers(org, first, count, per_writer, barrier, path)
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
    parser.add_argument(
        "--path",
        choices=["append", "atomic", "bare"],
        default="append",
        help="How a writer appends (see the module docstring).",
    )
    args = parser.parse_args()
    if args.writers % args.processes:
        sys.exit("--writers must be a multiple of --processes")
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
                result=writers(org, 0, args.writers, args.per_writer, barrier, args.path)
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
                args=(
                    org.pk,
                    p * per_process,
                    per_process,
                    args.per_writer,
                    barrier,
                    results,
                    args.path,
                ),
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
    where += f" (--path {args.path})" if args.path != "append" else ""
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
