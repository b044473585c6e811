"""The simulator on its own port (``manage.py telephony_simulator``), as a small WSGI app.

Point Ony at it with ``ONY_TELEPHONY_API_URL=http://127.0.0.1:PORT``. The
provider API checks Basic auth as SignalWire does; the phone actions and the
softphone page at ``/`` need the key printed at start-up (sent as the
``X-Softphone-Key`` header), so no other web page can press keys on it.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.template.loader import render_to_string

from telephony.simulator import SimulatorError, phone
from telephony.simulator.core import Simulator

ACTION = re.compile(r"^/phone/calls/(?P<sid>[^/]+)/(?P<action>[a-z-]+)$")
MAX_BODY = 64 * 1024


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def application(simulator: Simulator, key: str) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
        form = parse_qs(environ["wsgi.input"].read(length).decode(errors="replace"))

        def reply(status: int, body: Any, content_type: str = "application/json") -> list[bytes]:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            start_response(
                f"{status} {'OK' if status < 400 else 'Error'}", [("Content-Type", content_type)]
            )
            return [data]

        if path.startswith("/2010-04-01/"):
            return reply(*simulator.rest(method, path, environ.get("HTTP_AUTHORIZATION", ""), form))
        if path == "/" and method == "GET":
            page = render_to_string(
                "telephony/softphone.html", {"api_base": "/", "standalone": True, "key": key}
            )
            return reply(200, page, "text/html; charset=utf-8")
        if not hmac.compare_digest(environ.get("HTTP_X_SOFTPHONE_KEY", ""), key):
            return reply(403, {"code": "bad_key", "detail": "Send the key printed at start-up."})
        if path == "/phone/calls" and method == "GET":
            return reply(200, {"calls": phone.calls(simulator, None)})
        match = ACTION.match(path)
        if match and method == "POST":
            try:
                values = {name: items[-1] for name, items in form.items()}
                return reply(200, phone.act(simulator, match["sid"], match["action"], values))
            except SimulatorError as error:
                return reply(409, {"code": "not_now", "detail": str(error)})
        return reply(404, {"code": "not_found", "detail": "No such page."})

    return app


def serve(
    simulator: Simulator, host: str, port: int, key: str, *, quiet: bool = False
) -> ThreadingServer:
    """The simulator on ``host:port``; ``quiet``: no line per request (load tests)."""
    handler = _Quiet if quiet else WSGIRequestHandler
    return make_server(
        host, port, application(simulator, key), server_class=ThreadingServer, handler_class=handler
    )


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
