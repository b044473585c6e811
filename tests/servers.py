"""Starting a real gunicorn (gunicorn.conf.py) for tests and benchmarks, and talking to it."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
#: The /metrics token of the servers started here (DEBUG is off: no token, no metrics).
METRICS_TOKEN = "test-metrics-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, env: dict[str, str], log: IO[bytes]) -> subprocess.Popen:
    """gunicorn with the project's configuration on 127.0.0.1:``port``; ``env`` added."""
    full_env = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    # Test and benchmark orgs route high risks to the phone; the simulator is
    # their provider (gunicorn refuses to start with none: telephony.E001).
    full_env.setdefault("ONY_TELEPHONY_SIMULATOR", "1")
    full_env.setdefault("ONY_METRICS_TOKEN", METRICS_TOKEN)
    full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=log,
    )


def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Check ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def get(port: int, path: str, headers: dict | None = None, timeout: float = 5) -> tuple[int, bytes]:
    """(status, body) of a GET, or (0, b"") when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def waiting_now(port: int) -> int:
    """The server's ``ony_verdict_waiters`` gauge (-1 when it cannot be read)."""
    status, body = get(port, "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    match = re.search(rb"^ony_verdict_waiters (\S+)$", body, re.M) if status == 200 else None
    return int(float(match.group(1))) if match else -1


def shared_database_env() -> dict[str, str]:
    """Environment for a server process that uses this test run's database.

    Only PostgreSQL can be shared this way, and only rows a
    ``TransactionTestCase`` commits are seen there.
    """
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
