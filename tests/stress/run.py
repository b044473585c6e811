"""``make test-stress``: run the stress test and print what it proves.

    python -m tests.stress [--seconds 180] [--clients 200] [--hooks 10] [--short]

``--short`` is the version CI runs (about two minutes in all). The exit
status is 0 when every check holds, 1 otherwise; the figures are printed and
written to ``stress-figures.json`` in the run's folder (kept with ``--keep``).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from django.core.management import call_command
from django.db import connections

from handoffs.models import Handoff, Status
from telephony.simulator import credentials
from telephony.simulator.core import Simulator
from telephony.simulator.server import serve
from tests.stress import checks
from tests.stress import cluster as parts
from tests.stress.clients import Clients
from tests.stress.environment import ENV, PORTS, WORK
from tests.stress.people import Dashboard, Phones
from tests.stress.population import DEADLINE_SECONDS, populate
from tests.stress.report import Fault, Report

#: (when, as a fraction of the run; what; how long the part stays down, in seconds).
FAULTS = [
    (0.15, "Redis restarted", 3.0),
    (0.35, "worker killed", 5.0),
    (0.55, "database refused", 10.0),
    (0.75, "web node a killed", 8.0),
]


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.stress", description=__doc__)
    parser.add_argument("--seconds", type=float, default=180, help="how long clients ask")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--hooks", type=int, default=10, help="clients that run `ony hook`")
    parser.add_argument("--orgs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--short", action="store_true", help="the CI version: 45 s of load")
    parser.add_argument("--keep", action="store_true", help="keep the logs and figures")
    args = parser.parse_args(argv)
    if args.short:
        args.seconds = 45
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    lock = one_run_at_a_time()
    # Stopped from outside: still stop every process the run started (``finally`` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = WORK
    parts.ensure_postgresql()
    parts.fresh_database()
    call_command("migrate", verbosity=0)
    cluster = parts.Cluster(work, ENV, PORTS)
    print(f"stress: {args.clients} clients for {args.seconds:.0f} s; logs in {work}", flush=True)
    try:
        report = run(args, cluster)
    finally:
        cluster.stop()
    for line in report.lines:
        print(line)
    figures = json.dumps(report.figures, indent=2, sort_keys=True)
    (work / "stress-figures.json").write_text(figures)
    print(f"stress: figures: {json.dumps(report.figures, sort_keys=True)}")
    if args.keep or report.failures:
        print(f"stress: logs and figures kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print("stress: PASSED" if not report.failures else f"stress: FAILED ({len(report.failures)})")
    lock.close()
    return 0 if not report.failures else 1


def one_run_at_a_time() -> IO[str]:
    """Hold the machine's stress lock (two runs would share, refuse and drop one database)."""
    lock = open(Path(tempfile.gettempdir()) / "ony-stress.lock", "w")  # noqa: SIM115 - held open
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit("stress: another stress run is going on on this machine") from None
    return lock


def run(args: argparse.Namespace, cluster: parts.Cluster) -> Report:
    population = populate(args.orgs, max(1, args.clients // 2))
    connections.close_all()  # the faults cut it; the checks open a fresh one
    simulator = Simulator(credentials)
    key = secrets.token_urlsafe(16)
    server = serve(simulator, "127.0.0.1", PORTS["simulator"], key, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cluster.start()
    urls = {name: cluster.url(name) for name in cluster.ports}
    phones = Phones(simulator, population.authenticators, args.seed)
    dashboard = Dashboard(list(urls.values()), population.member_tokens, args.seed)
    clients = Clients(population.devices, args.clients, args.hooks, urls, args.seed)

    began = time.time()
    phones.start()
    dashboard.start()
    clients.run_until(began + args.seconds)
    faults = inject_faults(cluster, began, args.seconds)
    clients.join()
    # Let what still waits end: the last requests' deadlines, then the sweep's period.
    drain_until = time.time() + DEADLINE_SECONDS + 35
    while time.time() < drain_until and pending():
        time.sleep(1)
    dashboard.stop()
    phones.stop()
    simulator.settle()
    server.shutdown()
    connections.close_all()

    report = Report()
    report.figures.update(
        clients=args.clients,
        hook_clients=args.hooks,
        seconds=args.seconds,
        requests=len(clients.records),
        faults=[f.__dict__ for f in faults],
        outcomes=count(r.decision for r in clients.records),
        not_approved=count(
            f"{r.decision}: {r.reason}"
            for r in clients.records
            if r.decision not in ("approve", "allow")
        ),
        phone_script=dict(phones.done),
        dashboard=dict(dashboard.done),
    )
    checks.terminal_states(report)
    checks.allows(report, clients.records, population.devices)
    checks.chains(report, cluster.env)
    checks.server_errors(report, [cluster.nodes[n].log_path for n in cluster.nodes], faults)
    checks.waits(report, clients.records, faults)
    checks.recovery(report, faults)
    checks.client_errors(report, clients.errors)
    return report


def inject_faults(cluster: parts.Cluster, began: float, seconds: float) -> list[Fault]:
    """Each fault at its moment, one after the other; their windows, as they happened."""
    actions: dict[str, Callable[[float], None]] = {
        "Redis restarted": cluster.restart_redis,
        "worker killed": cluster.kill_worker,
        "database refused": cluster.refuse_database,
        "web node a killed": lambda down: cluster.kill_node("a", down),
    }
    faults = []
    for at, name, down in FAULTS:
        time.sleep(max(0.0, began + at * seconds - time.time()))
        started = time.time()
        print(f"stress: {started - began:5.1f} s: {name} ({down:.0f} s)", flush=True)
        actions[name](down)
        faults.append(Fault(name, started, time.time()))
    return faults


def pending() -> bool:
    exists = Handoff.objects.filter(status=Status.PENDING).exists()
    connections.close_all()
    return exists


def count(values: Iterable[str]) -> dict[str, int]:
    return dict(Counter(values))
