"""HTTP to the Ony server: JSON in, JSON out, a hard time limit on every call.

The hook runs on every tool call, so this is a small HTTP/1.0 client on a
plain socket rather than ``http.client``, whose imports (``email``, ``ssl``)
cost more than the rest of the connector together. HTTP/1.0 keeps it small:
the server closes the connection after the answer and never chunks it (a
chunked answer is decoded anyway, should a proxy send one). It never follows
redirects, which the agent API does not use. Anything but a JSON object
within the time limit is a ``ServerError``.
"""

from __future__ import annotations

import _socket
import json
import re
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_RESPONSE_BYTES = 1 << 20
USER_AGENT = "ony-connector/1"
SERVER_URL = re.compile(r"^(https?)://(\[[0-9A-Fa-f:.]+\]|[^/:?#\s]+)(?::(\d{1,5}))?(/[^?#]*)?$")


class ServerError(Exception):
    """No usable answer; ``reason`` is a stable code (the server's ``code`` if it sent one)."""

    def __init__(self, reason: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status


class Server:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        match = SERVER_URL.match(base_url or "")
        if match is None:
            raise ServerError("invalid_server", f"{base_url!r} is not an http(s) URL")
        self.scheme, host, port, path = match.groups()
        self.host = host.strip("[]")
        self.port = int(port) if port else (443 if self.scheme == "https" else 80)
        self.prefix = (path or "").rstrip("/")
        self.token = token

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, timeout: float
    ) -> tuple[int, dict[str, Any]]:
        """``(status, JSON object)``; ``ServerError`` for anything else, within ``timeout`` s."""
        if timeout <= 0:
            raise ServerError("timeout", "no time left to ask the server")
        deadline = time.monotonic() + timeout
        payload = b""
        headers = [
            f"{method} {self.prefix}{path} HTTP/1.0",
            f"Host: {self.host}" + (f":{self.port}" if self.port not in (80, 443) else ""),
            "Accept: application/json",
            f"User-Agent: {USER_AGENT}",
        ]
        if body is not None:
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            headers += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        elif method == "POST":
            headers.append("Content-Length: 0")
        if self.token:
            headers.append(f"Authorization: Bearer {self.token}")
        request = ("\r\n".join(headers) + "\r\n\r\n").encode() + payload
        try:
            raw = self.exchange(request, deadline)
        except TimeoutError:
            raise ServerError("timeout", "the server did not answer in time") from None
        except OSError as exc:
            raise ServerError("server_unreachable", f"cannot reach the server: {exc}") from None
        return parse_response(raw)

    def exchange(self, request: bytes, deadline: float) -> bytes:
        """Send ``request``; the raw answer, read to the end of its body or of the connection."""
        # An ASCII host goes to getaddrinfo as bytes, which spares importing the
        # idna codec (about 2 ms of the hook's start-up); other hosts need it.
        host = self.host.encode() if self.host.isascii() else self.host
        sock: _socket.socket
        if self.scheme == "https":
            import socket  # only when needed: both are slow to import
            import ssl

            # getaddrinfo takes the host as bytes too; typeshed types it as str only.
            plain = socket.create_connection((host, self.port), timeout=_left(deadline))  # type: ignore[arg-type]
            sock = ssl.create_default_context().wrap_socket(plain, server_hostname=self.host)
        else:
            sock = _connect(host, self.port, _left(deadline))
        try:
            sock.settimeout(_left(deadline))
            sock.sendall(request)
            chunks, size, expected = [], 0, None
            while expected is None or size < expected:
                sock.settimeout(_left(deadline))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES + 65536:
                    raise ServerError("bad_response", "the answer is too large")
                if expected is None:
                    expected = _expected_size(b"".join(chunks))
            return b"".join(chunks)
        finally:
            sock.close()


def _connect(host: bytes | str, port: int, timeout: float) -> _socket.socket:
    """``socket.create_connection`` on the C module alone: ``socket`` costs the hook
    milliseconds of start-up (it builds enums of every constant)."""
    error: OSError | None = None
    for family, kind, proto, _, address in _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            error = exc
        else:
            return sock
    raise error or OSError(f"no address for {host!r}")


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _expected_size(received: bytes) -> int | None:
    """The full answer's size once its head is in and it names a Content-Length."""
    end = received.find(b"\r\n\r\n")
    if end < 0:
        return None
    match = re.search(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*\r?$", received[:end])
    return end + 4 + int(match.group(1)) if match else 1 << 62


def parse_response(raw: bytes) -> tuple[int, dict[str, Any]]:
    """``(status, JSON object)`` from a raw HTTP answer; ``ServerError`` if it is anything else."""
    head, separator, body = raw.partition(b"\r\n\r\n")
    status_line = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    if not separator or status_line is None:
        raise ServerError("bad_response", "the answer is not HTTP")
    status = int(status_line.group(1))
    if re.search(rb"(?im)^transfer-encoding:[ \t]*chunked", head):
        body = _unchunk(body)
    if len(body) > MAX_RESPONSE_BYTES:
        raise ServerError("bad_response", "the answer is too large", status)
    try:
        data = json.loads(body)
    except ValueError:
        raise ServerError(
            "bad_response", f"HTTP {status}: the answer is not JSON", status
        ) from None
    if not isinstance(data, dict):
        raise ServerError("bad_response", f"HTTP {status}: the answer is not an object", status)
    return status, data


def _unchunk(body: bytes) -> bytes:
    out: list[bytes] = []
    position = 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise ServerError("bad_response", "a chunked answer was cut short")
        try:
            size = int(body[position:line_end].split(b";")[0], 16)
        except ValueError:
            raise ServerError("bad_response", "a chunked answer is malformed") from None
        if size == 0:
            return b"".join(out)
        out.append(body[line_end + 2 : line_end + 2 + size])
        position = line_end + 2 + size + 2


def refusal(status: int, data: dict[str, Any]) -> ServerError:
    """The server's JSON error as a ``ServerError`` (its ``code`` when it is a plain word)."""
    code = data.get("code")
    reason = code if isinstance(code, str) and code.replace("_", "").isalnum() else "http_error"
    detail = data.get("detail")
    if not isinstance(detail, str):
        detail = ""
    return ServerError(reason[:64], f"HTTP {status}: {detail[:200] or reason}", status)
