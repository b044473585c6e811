"""The processes of a stress run, and the faults it injects into them.

Everything listens on 127.0.0.1 on free ports. The run owns its Redis (so
it can restart it) and its database (so refusing it touches nothing else);
PostgreSQL itself is the machine's, started if it is not running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from tests.servers import ROOT, get, until
from tests.stress.environment import ADMIN_URL, DATABASE


def admin(sql: str) -> None:
    """Run ``sql`` on the maintenance database (never the run's own: it may be refused)."""
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


def ensure_postgresql() -> None:
    """Start the machine's PostgreSQL cluster if nothing answers (as .ci/run does)."""
    host = urlsplit(ADMIN_URL).hostname or "127.0.0.1"
    port = str(urlsplit(ADMIN_URL).port or 5432)
    ready = ["pg_isready", "-q", "-h", host, "-p", port]
    if subprocess.run(ready, check=False).returncode == 0:
        return
    versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".")])
    print(f"stress: starting PostgreSQL {versions[-1]}", flush=True)
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"]
    if os.geteuid() != 0:
        command.insert(0, "sudo")
    subprocess.run(command, check=True)
    until(
        lambda: subprocess.run(ready, check=False).returncode == 0,
        30,
        "PostgreSQL to start",
    )


def fresh_database() -> None:
    """Drop and create the run's database (``DATABASE``), beside the maintenance one."""
    admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{DATABASE}"')


class Process:
    """A child in its own process group (so a kill takes its children too), logging to a file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.command, self.env, self.log_path = name, command, env, log
        self.popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed by stop()
        self.popen = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            self.popen.wait(60)
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Cluster:
    """Redis, two web nodes (``a`` is the one killed; ``b`` takes the provider's webhooks),
    a worker with beat, and the simulator's port: their environment and their faults."""

    def __init__(self, directory: Path, env: dict[str, str], ports: dict[str, int]) -> None:
        self.directory, self.env = directory, env
        self.redis_port = ports["redis"]
        self.ports = {"a": ports["a"], "b": ports["b"]}
        redis = shutil.which("redis-server")
        if redis is None:
            raise SystemExit("stress: redis-server is not installed (apt-get install redis-server)")
        self.redis = Process(
            "redis",
            [
                redis,
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            self.env,
            directory / "redis.log",
        )
        self.nodes = {
            name: Process(
                f"node {name}",
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
                {**self.env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                directory / f"node-{name}.log",
            )
            for name, port in self.ports.items()
        }
        self.worker = Process(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "ony",
                "worker",
                "--beat",
                "--loglevel",
                "WARNING",
            ],
            self.env,
            directory / "worker.log",
        )

    def url(self, node: str) -> str:
        return f"http://127.0.0.1:{self.ports[node]}"

    def start(self) -> None:
        self.start_redis()
        for name in self.nodes:
            self.start_node(name)
        self.worker.start()

    def stop(self) -> None:
        for process in (self.worker, *self.nodes.values(), self.redis):
            process.stop()

    def start_redis(self) -> None:
        self.redis.start()
        until(self.redis_answers, 20, "Redis to start")

    def redis_answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.redis_port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def start_node(self, name: str) -> None:
        self.nodes[name].start()
        port = self.ports[name]
        until(lambda: get(port, "/healthz")[0] == 200, 60, f"node {name} to start")

    # The faults. Each returns when the fault is over and the part is back.

    def restart_redis(self, down_seconds: float) -> None:
        self.redis.kill()
        time.sleep(down_seconds)
        self.start_redis()

    def kill_worker(self, down_seconds: float) -> None:
        self.worker.kill()
        time.sleep(down_seconds)
        self.worker.start()

    def refuse_database(self, seconds: float) -> None:
        """New connections to the run's database are refused and open ones cut, for ``seconds``."""
        admin(f'ALTER DATABASE "{DATABASE}" ALLOW_CONNECTIONS false')
        admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608 - a constant
            f"WHERE datname = '{DATABASE}' AND pid <> pg_backend_pid()"
        )
        time.sleep(seconds)
        admin(f'ALTER DATABASE "{DATABASE}" ALLOW_CONNECTIONS true')

    def kill_node(self, name: str, down_seconds: float) -> None:
        self.nodes[name].kill()
        time.sleep(down_seconds)
        self.start_node(name)
