"""Benchmark: policy-approved creates through gunicorn, next to a one-INSERT baseline and /healthz.

    python bench/throughput.py [--connections 32] [--seconds 10] [--rounds 3]

Starts gunicorn with gunicorn.conf.py and bench/settings.py (the product's
settings plus a baseline endpoint) against the benchmark database and Redis,
and drives it with ``wrk`` (C, Debian's package: it does not share the
server's Python; installed with apt-get when missing and possible, else the
Python client below stands in, and says so). Each round runs, one after the
other, for ``--seconds`` each on ``--connections`` keep-alive connections:

- ``GET /healthz``: the stack doing nothing;
- baseline: ``POST /bench/baseline``: device authentication, JSON parsing,
  one INSERT (the same stack, doing the least it can);
- creates: ``POST /api/v1/handoffs`` for a low-risk action, which the org's
  policy approves at once: the 201 carries the signed verdict (create plus
  verdict in one request), after two audit appends.

Each result also gives the CPU the load generator itself used (user+system
seconds per second of run): a generator near a whole core would be the limit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import benchdb
from tests.servers import free_port, get, start_gunicorn, until

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_post.lua"


def ensure_wrk() -> str | None:
    """The path of ``wrk``, installing Debian's package when missing (as root); else None."""
    found, apt = shutil.which("wrk"), shutil.which("apt-get")
    if found is None and apt is not None and os.geteuid() == 0:
        subprocess.run([apt, "install", "-y", "-qq", "wrk"], check=False, capture_output=True)  # noqa: S603
        found = shutil.which("wrk")
    return found


def wrk_load(wrk: str, port: int, path: str, token: str, connections: int, seconds: float) -> dict:
    """``wrk`` on one path for ``seconds``: requests/s, latency quantiles, its own CPU use."""
    method = "GET" if path == "/healthz" else "POST"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(  # noqa: S603 - wrk from the PATH, our own arguments
        [wrk, "-t", "2", "-c", str(connections), "-d", f"{seconds:.0f}s", "--timeout", "10s",
         "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}{path}", "--", method, token],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("WRK "))
    data = json.loads(line[4:])
    elapsed = data["duration_us"] / 1e6
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "requests": data["requests"],
        "rps": data["requests"] / elapsed,
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "failures": data["socket_errors"] + data["status_errors"],
        "generator_cores": cpu / elapsed,
    }


def python_load(port: int, path: str, tokens: list[str], clients: int, seconds: float) -> dict:
    """The fallback without ``wrk``: POST from ``clients`` threads of this Python.

    They share the machine's cores with the server, which lowers every figure.
    Client ``n`` uses device token ``tokens[n % len(tokens)]``.
    """
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad, i = [], [], 0
        token = tokens[n % len(tokens)]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        while time.monotonic() < stop_at:
            i += 1
            body = json.dumps(
                {
                    "action": "test.run",
                    "target": "unit tests",
                    "title": "Run the unit tests",
                    "agent_session_id": "bench",
                    "nonce": f"t{n:03d}-{i:07d}-{uuid.uuid4().hex[:8]}",
                }
            )
            began = time.monotonic()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.monotonic() - began)
            if response.status != 201:
                bad.append(response.status)
        conn.close()
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "failures": len(failures),
        "generator_cores": float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    wrk = ensure_wrk()
    if wrk is None:
        print("wrk is missing (apt-get install wrk): falling back to Python client threads")
    benchdb.django_setup(migrate=True, redis=True)

    from django.db import connection

    from audit.events import SYSTEM
    from bench.views import TABLE_SQL
    from devices import services as devices
    from ony import services as org_services

    with connection.cursor() as cursor:
        cursor.execute(TABLE_SQL)
    slug = f"bench-throughput-{uuid.uuid4().hex[:8]}"
    org = org_services.create_organization(name="Bench throughput", slug=slug, actor=SYSTEM)
    token = devices.enroll(devices.create_enrollment_token(org)[1], "bench").device_token
    connection.close()

    def run(path: str, seconds: float) -> dict:
        if wrk is not None:
            return wrk_load(wrk, port, path, token, args.connections, seconds)
        if path == "/healthz":  # the fallback measures the two POSTs only
            nan = float("nan")
            return dict.fromkeys(("rps", "p50_ms", "p99_ms", "generator_cores"), nan) | {
                "requests": 0,
                "failures": 0,
            }
        return python_load(port, path, [token], args.connections, seconds)

    paths = {"healthz": "/healthz", "baseline": "/bench/baseline", "creates": "/api/v1/handoffs"}
    rows = []
    port = free_port()
    with tempfile.TemporaryFile() as log:
        server = start_gunicorn(port, {"DJANGO_SETTINGS_MODULE": "bench.settings"}, log)
        try:
            until(lambda: get(port, "/healthz")[0] == 200, 30, "gunicorn to start")
            for path in paths.values():
                run(path, 2)  # warm-up
            for n in range(1, args.rounds + 1):
                rows.append({name: run(path, args.seconds) for name, path in paths.items()})
                print(row_text(n, rows[-1]), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=40)
    ratios = [row["creates"]["rps"] / row["baseline"]["rps"] for row in rows]
    print(f"creates / baseline, median of {len(rows)} rounds: {statistics.median(ratios):.2f}")


def row_text(n: int, row: dict) -> str:
    parts = [f"round {n}"]
    for name, r in row.items():
        parts.append(
            f"{name} {r['rps']:6.0f}/s p50 {r['p50_ms']:5.1f} p99 {r['p99_ms']:5.1f} ms "
            f"(wrk {r['generator_cores']:.2f} cores, {r['failures']} failed)"
        )
    ratio = row["creates"]["rps"] / row["baseline"]["rps"]
    return " | ".join(parts) + f" | creates/baseline {ratio:.2f}"


if __name__ == "__main__":
    main()
