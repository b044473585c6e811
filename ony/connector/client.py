"""HTTP to the Ony server: JSON in, JSON out, a hard time limit on every call.

``http.client`` rather than ``urllib.request``: it imports less (the hook
runs on every tool call) and never follows redirects, which the agent API
does not use. Any answer that is not a JSON object within the time limit is
a ``ServerError``.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES = 1 << 20
USER_AGENT = "ony-connector/1"


class ServerError(Exception):
    """No usable answer; ``reason`` is a stable code (the server's ``code`` if it sent one)."""

    def __init__(self, reason: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status


class Server:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServerError("invalid_server", f"{base_url!r} is not an http(s) URL")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self.token = token

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.scheme == "https":
            import ssl  # only when needed: it is slow to import

            return http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, timeout: float
    ) -> tuple[int, dict[str, Any]]:
        """``(status, JSON object)``; ``ServerError`` for anything else, within ``timeout`` s."""
        if timeout <= 0:
            raise ServerError("timeout", "no time left to ask the server")
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        payload = None
        if body is not None:
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        connection = self.connection(timeout)
        try:
            connection.request(method, self.prefix + path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read(MAX_RESPONSE_BYTES + 1)
            status = response.status
        except TimeoutError:
            raise ServerError("timeout", "the server did not answer in time") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ServerError("server_unreachable", f"cannot reach the server: {exc}") from None
        finally:
            connection.close()
        if len(raw) > MAX_RESPONSE_BYTES:
            raise ServerError("bad_response", "the answer is too large", status)
        try:
            data = json.loads(raw)
        except ValueError:
            raise ServerError(
                "bad_response", f"HTTP {status}: the answer is not JSON", status
            ) from None
        if not isinstance(data, dict):
            raise ServerError("bad_response", f"HTTP {status}: the answer is not an object", status)
        return status, data


def refusal(status: int, data: dict[str, Any]) -> ServerError:
    """The server's JSON error as a ``ServerError`` (its ``code`` when it is a plain word)."""
    code = data.get("code")
    reason = code if isinstance(code, str) and code.replace("_", "").isalnum() else "http_error"
    detail = data.get("detail") if isinstance(data.get("detail"), str) else ""
    return ServerError(reason[:64], f"HTTP {status}: {detail[:200] or reason}", status)
