"""An open-loop load generator: requests at a constant rate, latency from each one's schedule.

    python bench/openloop.py URL --rate 250 --seconds 20 [--token T] [--post-handoff]

Request ``i`` is due at ``start + i / rate`` whatever happened to the ones
before (a closed loop of clients would slow down with the server and hide
its queue); its latency runs from that due time to the last byte of its
answer, so time spent waiting for a connection counts. Connections are
HTTP/1.1 keep-alive, reused when idle and opened when none is.

Standard library only, in a process of its own: it never shares the
server's Python. It prints one JSON line: achieved rate, latency quantiles
(ms), failures, and the CPU it used itself (cores), to show it was not the
limit. bench/latency.py runs it against a server it starts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from urllib.parse import urlsplit


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> int:
        """Send ``request``; read the whole answer; its status."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        await self.reader.readexactly(length)
        return status


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        url = urlsplit(args.url)
        self.host, self.port, self.path = url.hostname or "127.0.0.1", url.port or 80, url.path
        self.args = args
        self.idle: list[Connection] = []
        self.opened = 0
        self.latencies: list[float] = []
        self.failures: dict[str, int] = {}
        self.prefix = f"ol{os.getpid()}-{int(time.time())}-"

    def request(self, n: int) -> bytes:
        head = f"Host: {self.host}:{self.port}\r\nConnection: keep-alive\r\n"
        if self.args.token:
            head += f"Authorization: Bearer {self.args.token}\r\n"
        if not self.args.post_handoff:
            return f"GET {self.path} HTTP/1.1\r\n{head}\r\n".encode()
        body = json.dumps(
            {
                "action": "test.run",
                "target": "unit tests",
                "title": "Run the unit tests",
                "agent_session_id": "bench",
                "nonce": f"{self.prefix}{n}",
            }
        ).encode()
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        return f"POST {self.path} HTTP/1.1\r\n{head}\r\n".encode() + body

    async def connection(self, reuse: bool = True) -> Connection:
        if reuse and self.idle:
            return self.idle.pop()
        self.opened += 1
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return Connection(reader, writer)

    async def one(self, n: int, due: float) -> None:
        try:
            conn = await self.connection()
            try:
                status = await conn.exchange(self.request(n))
            except (OSError, asyncio.IncompleteReadError):
                # The server closed an idle keep-alive connection (gunicorn's
                # keepalive): what any client does, once, on a new one.
                conn = await self.connection(reuse=False)
                status = await conn.exchange(self.request(n))
            self.idle.append(conn)
            if status >= 400:
                self.failures[str(status)] = self.failures.get(str(status), 0) + 1
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            name = type(exc).__name__
            self.failures[name] = self.failures.get(name, 0) + 1
        self.latencies.append(time.monotonic() - due)

    async def run(self) -> dict:
        rate, seconds = self.args.rate, self.args.seconds
        total = int(rate * seconds)
        cpu0 = time.process_time()
        start = time.monotonic() + 0.2
        tasks = []
        for n in range(total):
            due = start + n / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.one(n, due)))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - start
        cpu = time.process_time() - cpu0
        q = statistics.quantiles(self.latencies, n=100)
        return {
            "rate": rate,
            "sent": total,
            "achieved_rps": round(total / elapsed, 1),
            "p50_ms": round(q[49] * 1000, 1),
            "p90_ms": round(q[89] * 1000, 1),
            "p99_ms": round(q[98] * 1000, 1),
            "max_ms": round(max(self.latencies) * 1000, 1),
            "failures": self.failures,
            "connections": self.opened,
            "generator_cores": round(cpu / elapsed, 3),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--token", default="")
    parser.add_argument("--post-handoff", action="store_true", help="POST a low-risk handoff")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(Generator(args).run())))


if __name__ == "__main__":
    main()
