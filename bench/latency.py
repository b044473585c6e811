"""Benchmark: latency of policy-approved creates at a sustained rate (open loop), one org.

    python bench/latency.py [--rates 100,150,200,250] [--seconds 20]

Starts gunicorn with the shipped gunicorn.conf.py and bench/settings.py
against the benchmark database and Redis, then, for each rate, runs
bench/openloop.py in a process of its own: ``POST /api/v1/handoffs`` (a
low-risk action the policy approves at once) at that constant rate for
``--seconds``, latency measured from each request's due time. ``GET
/healthz`` at the highest rate shows what the stack and the generator cost
alone. Rates run one after the other, each after a 3 s warm-up at it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import benchdb
from tests.servers import free_port, get, start_gunicorn, until

OPENLOOP = Path(__file__).resolve().parent / "openloop.py"


def openloop(url: str, rate: float, seconds: float, token: str, post: bool) -> dict:
    command = [sys.executable, str(OPENLOOP), url, "--rate", str(rate), "--seconds", str(seconds)]
    if post:
        command += ["--token", token, "--post-handoff"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="100,150,200,250")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    benchdb.django_setup(migrate=True, redis=True)

    from django.db import connection

    from audit.events import SYSTEM
    from devices import services as devices
    from ony import services as org_services

    slug = f"bench-latency-{uuid.uuid4().hex[:8]}"
    org = org_services.create_organization(name="Bench latency", slug=slug, actor=SYSTEM)
    token = devices.enroll(devices.create_enrollment_token(org)[1], "bench").device_token
    connection.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = start_gunicorn(port, {"DJANGO_SETTINGS_MODULE": "bench.settings"}, log)
        try:
            until(lambda: get(port, "/healthz")[0] == 200, 30, "gunicorn to start")
            print("what           rate/s  achieved  p50 ms  p90 ms  p99 ms  max ms  generator")
            for rate in rates:
                openloop(base + "/api/v1/handoffs", rate, 3, token, post=True)  # warm-up
                show(
                    "creates", openloop(base + "/api/v1/handoffs", rate, args.seconds, token, True)
                )
            show("/healthz", openloop(base + "/healthz", max(rates), args.seconds, token, False))
        finally:
            server.terminate()
            server.wait(timeout=40)


def show(what: str, r: dict) -> None:
    failed = f"  failures {r['failures']}" if r["failures"] else ""
    print(
        f"{what:12s} {r['rate']:7.0f} {r['achieved_rps']:9.1f} {r['p50_ms']:7.1f} "
        f"{r['p90_ms']:7.1f} {r['p99_ms']:7.1f} {r['max_ms']:7.1f}  "
        f"{r['generator_cores']:.2f} cores{failed}",
        flush=True,
    )


if __name__ == "__main__":
    main()
