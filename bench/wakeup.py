"""Benchmark: decision-to-connector wake-up with 200 concurrent waiters.

    python bench/wakeup.py [--waiters 200]

Starts gunicorn with the project's gunicorn.conf.py (one worker) against the
benchmark database and Redis, parks ``--waiters`` verdict long-polls, each on
its own pending handoff (checked through the server's waiters gauge), then
decides the handoffs one by one in this process. For each, the wake-up is
the time from the decision's commit (``decide`` returning) to the waiting
client receiving its 200: Redis pub/sub, the worker's listener, the re-read
and the HTTP response. The server runs with its default settings; set
DB_POOL_MAX_SIZE=0 in the environment to measure it without a connection pool.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import benchdb
from tests.servers import free_port, get, start_gunicorn, until, waiting_now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiters", type=int, default=200)
    args = parser.parse_args()
    benchdb.django_setup(migrate=True, redis=True)

    from audit.events import SYSTEM
    from handoffs import services
    from ony import services as org_services
    from ony.roles import Role
    from tests.base import make_handoff

    org, laptop = benchdb.fresh_org_with_device("wakeup")
    bob = org_services.add_member(org, f"bob@{org.slug}.test", actor=SYSTEM, role=Role.MEMBER)
    handoffs = [make_handoff(laptop.device) for _ in range(args.waiters)]

    port = free_port()
    received: dict[str, float] = {}
    statuses: dict[str, str] = {}
    auth = {"Authorization": f"Bearer {laptop.device_token}"}

    def wait_for(request_id: str) -> None:
        status, body = get(port, f"/api/v1/handoffs/{request_id}/verdict?wait=30", auth, 60)
        received[request_id] = time.monotonic()
        statuses[request_id] = json.loads(body)["status"] if status == 200 else f"http {status}"

    with tempfile.TemporaryFile() as log:
        server = start_gunicorn(port, {"WEB_CONCURRENCY": "1"}, log)
        try:
            until(lambda: get(port, "/healthz")[0] == 200, 30, "gunicorn to start")
            threads = []
            for start in range(0, args.waiters, 20):  # batches keep connection bursts small
                for handoff in handoffs[start : start + 20]:
                    thread = threading.Thread(target=wait_for, args=(handoff.public_id,))
                    thread.start()
                    threads.append(thread)
                parked = min(start + 20, args.waiters)

                def all_parked(n: int = parked) -> bool:
                    return waiting_now(port) == n

                until(all_parked, 30, f"{parked} waiters")
            committed: dict[str, float] = {}
            for handoff in handoffs:
                services.decide(handoff, "approve", via="api", actor=bob.public_id, by=bob)
                committed[handoff.public_id] = time.monotonic()
            for thread in threads:
                thread.join(timeout=35)
        finally:
            server.terminate()
            server.wait(timeout=40)

    if set(statuses.values()) != {"approved"}:
        sys.exit(f"not every waiter got its approval: {set(statuses.values())}")
    wakeups = sorted((received[r] - committed[r]) * 1000 for r in committed)
    quantiles = statistics.quantiles(wakeups, n=100)
    print(f"{len(wakeups)} waiters held at once by one gunicorn worker; wake-up after commit:")
    print(f"p50 {quantiles[49]:.1f} ms, p99 {quantiles[98]:.1f} ms, max {wakeups[-1]:.1f} ms")


if __name__ == "__main__":
    main()
