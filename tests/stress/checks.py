"""What must hold after a stress run, checked against what is stored and what clients saw.

Each check gives a line for the report and a list of failures (empty: it
holds). The database is read directly (no read expires anything here), and
verdicts are checked again with each device's key, independently of the
connector that already believed them.
"""

from __future__ import annotations

import base64
import re
import statistics
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

from django.db.models import Count
from django.utils import timezone

from audit.events import Event
from audit.models import AuditEntry
from devices.services import Enrolled
from handoffs.models import Handoff, Status
from ony.connector import verdict as verdicts
from telephony.models import CallAttempt
from tests.servers import ROOT
from tests.stress.clients import Record
from tests.stress.report import Fault, Report

#: The slowest a waiting client may learn of a decision, outside a fault that cuts it off.
MAX_WAKE_SECONDS = 5.0
#: How long past its own wait a client may take to answer (withdrawing takes a moment).
WAIT_SLACK_SECONDS = 5.0
TERMINAL_EVENTS = (Event.HANDOFF_DECIDED, Event.HANDOFF_EXPIRED, Event.HANDOFF_CANCELLED)
ACCESS = re.compile(r'\[([^\]]+)\] "(\S+) (\S+) [^"]*" (\d{3}) ')


def decode_key(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def terminal_states(report: Report) -> None:
    handoffs = Handoff.objects.all()
    statuses = Counter(handoffs.values_list("status", flat=True))
    report.figures["handoffs"] = dict(statuses)
    vias = Counter(handoffs.exclude(decided_via="").values_list("decided_via", flat=True))
    report.figures["decided_via"] = dict(vias)
    overdue = handoffs.filter(status=Status.PENDING, deadline__lt=timezone.now())
    report.check(
        "every handoff reached one terminal state (none pending past its deadline)",
        [f"{h.public_id} pending past {h.deadline.isoformat()}" for h in overdue],
        f"{sum(statuses.values())} handoffs: "
        + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
    )
    ends = dict(
        AuditEntry.objects.filter(event__in=TERMINAL_EVENTS)
        .values_list("subject")
        .annotate(n=Count("pk"))
        .values_list("subject", "n")
    )
    wrong = []
    for request_id, status in handoffs.values_list("public_id", "status"):
        expected = 0 if status == Status.PENDING else 1
        if ends.get(request_id, 0) != expected:
            wrong.append(f"{request_id} ({status}) has {ends.get(request_id, 0)} terminal entries")
    expired = AuditEntry.objects.filter(event=Event.HANDOFF_EXPIRED).count()
    report.figures["deadlines_fired"] = expired
    report.check(
        "each handoff has one terminal audit entry; every deadline fired once",
        wrong,
        f"{expired} deadlines fired",
    )


def allows(report: Report, records: list[Record], devices: list[Enrolled]) -> None:
    """No client acted on an approval the server did not sign, bind and chain."""
    keys = {
        d.device.public_id: base64.urlsafe_b64decode(
            d.decision_key + "=" * (-len(d.decision_key) % 4)
        )
        for d in devices
    }
    approved = [r for r in records if r.decision in ("approve", "allow")]
    wrong = []
    for record in approved:
        handoff = (
            Handoff.objects.filter(public_id=record.request_id).select_related("device").first()
        )
        if handoff is None or handoff.status != Status.APPROVED:
            wrong.append(f"{record.client} allowed {record.request_id}, which is not approved")
            continue
        if handoff.device.public_id != record.device_id:
            wrong.append(f"{record.client} allowed another device's {record.request_id}")
            continue
        verdict = record.verdict if record.kind == "sdk" else handoff.verdict
        if not isinstance(verdict, dict):
            wrong.append(f"{record.request_id}: no verdict")
            continue
        expected = verdicts.Expected(
            record.device_id,
            handoff.public_id,
            handoff.nonce,
            handoff.action,
            handoff.target,
            handoff.risk,
        )
        try:
            if verdicts.authenticate(keys[record.device_id], verdict, expected) != "approve":
                wrong.append(f"{record.request_id}: the verdict is not an approval")
                continue
        except verdicts.VerdictRejected as exc:
            wrong.append(f"{record.request_id}: {exc.reason}: {exc}")
            continue
        entry = AuditEntry.objects.filter(org_id=handoff.org_id, seq=verdict["audit_seq"]).first()
        if (
            entry is None
            or entry.event != Event.HANDOFF_DECIDED
            or entry.subject != handoff.public_id
            or bytes(entry.hash).hex() != verdict["audit_hash"]
        ):
            wrong.append(f"{record.request_id}: no handoff.decided entry matches its verdict")
    report.figures["allows"] = len(approved)
    report.check(
        "every allow has a verdict that verifies with its device's key, for its own request, "
        "and its handoff.decided entry in the chain",
        wrong,
        f"{len(approved)} allows",
    )


def chains(report: Report, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "verify_chain"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = (result.stdout + result.stderr).strip()
    report.check(
        "every organization's chain verifies (manage.py verify_chain)",
        [] if result.returncode == 0 else [output[-500:]],
        f"exit {result.returncode}; {AuditEntry.objects.count()} entries",
    )


def server_errors(report: Report, logs: list[Path], faults: list[Fault]) -> None:
    """No 5xx, except while PostgreSQL refused the database (and just after)."""
    refused = [f for f in faults if f.name == "database refused"]
    explained, unexplained, read = 0, [], 0
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            match = ACCESS.search(line)
            read += match is not None
            if not match or not match.group(4).startswith("5"):
                continue
            moment = datetime.strptime(match.group(1), "%d/%b/%Y:%H:%M:%S %z").timestamp()
            if any(f.covers(moment) for f in refused):
                explained += 1
            else:
                unexplained.append(f"{log.name}: {line.strip()[:160]}")
    report.figures["5xx_while_database_refused"] = explained
    report.figures["5xx_otherwise"] = len(unexplained)
    if read == 0:
        unexplained.append("no access line could be read: nothing was checked")
    report.check(
        "no 5xx but while PostgreSQL refused connections",
        unexplained,
        f"{read} requests logged: {explained} 5xx while refused, {len(unexplained)} otherwise",
    )


def waits(report: Report, records: list[Record], faults: list[Fault]) -> None:
    """No client waited past its own deadline; decisions reached their waiters at once."""
    late = [
        f"{r.client} {r.request_id} took {r.ended - r.started:.1f} s for a {r.wait:.0f} s wait"
        for r in records
        if r.ended - r.started > r.wait + WAIT_SLACK_SECONDS
    ]
    report.check("no client waited past its deadline", late, f"{len(records)} requests")

    cut_off = [f for f in faults if f.name in ("database refused", "web node a killed")]
    by_person = Handoff.objects.filter(decided_via__in=("ivr", "api"), decided_at__isnull=False)
    decided = {
        request_id: moment.timestamp()  # type: ignore[union-attr] # not null, filtered
        for request_id, moment in by_person.values_list("public_id", "decided_at")
    }
    wakes, slow = [], []
    for r in records:
        if r.kind != "sdk" or r.request_id not in decided or r.verdict is None:
            continue
        wake = r.ended - decided[r.request_id]
        if any(f.covers(decided[r.request_id]) or f.covers(r.ended) for f in cut_off):
            continue
        wakes.append(wake)
        if wake > MAX_WAKE_SECONDS:
            slow.append(f"{r.client} {r.request_id} learned of its decision {wake:.1f} s late")
    detail = "none decided by a person"
    if wakes:
        wakes.sort()
        p50 = statistics.median(wakes)
        p99 = wakes[min(len(wakes) - 1, int(len(wakes) * 0.99))]
        report.figures["wake_seconds"] = {
            "count": len(wakes),
            "p50": round(p50, 3),
            "p99": round(p99, 3),
            "max": round(wakes[-1], 3),
        }
        detail = (
            f"{len(wakes)} woken: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {wakes[-1]:.2f} s"
        )
    report.check(
        f"every waiter learned of a person's decision within {MAX_WAKE_SECONDS:.0f} s", slow, detail
    )


def recovery(report: Report, faults: list[Fault]) -> None:
    """After each fault, calls are placed again."""
    missing, after = [], {}
    for fault in faults:
        first = (
            CallAttempt.objects.filter(
                created_at__gt=datetime.fromtimestamp(fault.ended).astimezone()
            )
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if first is None:
            missing.append(f"no call placed after {fault.name}")
        else:
            after[fault.name] = round(first.timestamp() - fault.ended, 1)
    report.figures["first_call_after_fault_seconds"] = after
    calls = Counter(CallAttempt.objects.values_list("status", flat=True))
    report.figures["calls"] = dict(calls)
    report.check(
        "calls are placed again after every fault",
        missing,
        ", ".join(f"{name}: {s} s" for name, s in after.items()),
    )


def client_errors(report: Report, errors: list[str]) -> None:
    report.check("no client crashed", errors)
