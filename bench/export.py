"""Benchmark: an organization export's memory does not grow with the organization.

    python bench/export.py [--sizes 1000,10000,50000]

For each size, organization ``bench-export-SIZE`` in the benchmark database
is filled once with that many decided handoffs, each with a 1 KB payload
(encrypted at rest like any other), then exported with payloads to
/dev/null by ``lifecycle.export`` (the path the API, the dashboard and
``manage.py export_org`` take), each in a fresh process so that the peak
memory (RSS) is its own. Prints one JSON line per size: handoffs, bytes
written, seconds, peak RSS in MB.
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

BATCH = 1000


def slug(size: int) -> str:
    return f"bench-export-{size}"


def fill(size: int) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from audit.events import SYSTEM
    from devices import services as devices
    from handoffs.models import Handoff
    from ony import services as org_services
    from ony.models import Organization

    org = Organization.objects.filter(slug=slug(size)).first()
    if org is None:
        org = org_services.create_organization(name="Bench export", slug=slug(size), actor=SYSTEM)
    have = Handoff.objects.for_org(org).count()
    if have == size:
        return
    if have:
        sys.exit(f"{org.slug} is half filled: drop database {benchdb.BENCH_DB} and start again")
    _, token = devices.create_enrollment_token(org)
    device = devices.enroll(token, "bench").device
    now = timezone.now()
    payload = "x" * 1024
    for start in range(0, size, BATCH):
        Handoff.objects.bulk_create(
            Handoff(
                org=org,
                device=device,
                agent_session_id="bench",
                action="deploy.production",
                target="prod-api",
                risk="critical",
                title=f"Deploy {n}",
                payload=payload,
                payload_sha256="0" * 64,
                nonce=f"bench-{n:08d}",
                status="approved",
                deadline=now + timedelta(minutes=10),
            )
            for n in range(start, min(start + BATCH, size))
        )


def measure(size: int) -> dict[str, float | int]:
    from audit.events import SYSTEM
    from lifecycle import export
    from ony.models import Organization

    org = Organization.objects.get(slug=slug(size))
    written = 0
    began = time.perf_counter()
    with open("/dev/null", "w", encoding="utf-8") as sink:
        for chunk in export.audited_document(org, actor=SYSTEM, payloads=True):
            written += len(chunk.encode())
            sink.write(chunk)
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"handoffs": size, "bytes": written, "seconds": round(seconds, 2), "peak_rss_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process's size
    args = parser.parse_args()
    if args.one is not None:
        benchdb.django_setup()
        print(json.dumps(measure(args.one)))
        return
    benchdb.django_setup(migrate=True)
    for size in (int(text) for text in args.sizes.split(",")):
        fill(size)
        command = [sys.executable, __file__, "--one", str(size)]
        child = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
        print(child.stdout.strip())


if __name__ == "__main__":
    main()
