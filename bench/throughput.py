"""Benchmark: policy-approved handoffs through gunicorn, next to a one-INSERT baseline.

    python bench/throughput.py [--clients 32] [--seconds 10]

Starts gunicorn with gunicorn.conf.py and bench/settings.py (the product's
settings plus a baseline endpoint) against the benchmark database and Redis.
32 client threads, each with a keep-alive connection, POST for ``--seconds``:

- baseline: ``POST /bench/baseline``: device authentication, JSON parsing,
  one INSERT (the same stack, doing the least it can);
- handoffs: ``POST /api/v1/handoffs`` for a low-risk action, which the org's
  policy approves at once: the 201 carries the signed verdict (create plus
  verdict in one request), after two audit appends.

Both run in the same server, one after the other, after a warm-up.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import benchdb
from tests.servers import free_port, get, start_gunicorn, until


def load(port: int, path: str, tokens: list[str], clients: int, seconds: float) -> dict:
    """POST from ``clients`` threads for ``seconds``; requests/s and latency quantiles.

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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--orgs", type=int, default=1, help="Spread the clients over this many organizations."
    )
    args = parser.parse_args()
    benchdb.django_setup(migrate=True, redis=True)

    from django.db import connection

    from audit.events import SYSTEM
    from bench.views import TABLE_SQL
    from devices import services as devices
    from ony import services as org_services

    with connection.cursor() as cursor:
        cursor.execute(TABLE_SQL)
    tokens = []
    for _ in range(args.orgs):
        slug = f"bench-throughput-{uuid.uuid4().hex[:8]}"
        org = org_services.create_organization(name="Bench throughput", slug=slug, actor=SYSTEM)
        tokens.append(devices.enroll(devices.create_enrollment_token(org)[1], "bench").device_token)
    connection.close()

    port = free_port()
    with tempfile.TemporaryFile() as log:
        server = start_gunicorn(port, {"DJANGO_SETTINGS_MODULE": "bench.settings"}, log)
        try:
            until(lambda: get(port, "/healthz")[0] == 200, 30, "gunicorn to start")
            load(port, "/bench/baseline", tokens, args.clients, 2)  # warm-up
            load(port, "/api/v1/handoffs", tokens, args.clients, 2)
            baseline = load(port, "/bench/baseline", tokens, args.clients, args.seconds)
            handoffs = load(port, "/api/v1/handoffs", tokens, args.clients, args.seconds)
        finally:
            server.terminate()
            server.wait(timeout=40)
    for name, result in (
        ("baseline (one INSERT)", baseline),
        ("policy-approved handoffs", handoffs),
    ):
        print(
            f"{name:26s} {result['rps']:7.0f} req/s  p50 {result['p50_ms']:5.1f} ms  "
            f"p99 {result['p99_ms']:5.1f} ms  ({result['requests']} requests, "
            f"{result['failures']} failed)"
        )
    print(f"handoffs / baseline throughput: {handoffs['rps'] / baseline['rps']:.2f}")


if __name__ == "__main__":
    main()
