"""Run the telephony simulator on its own port, with its softphone page."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand

from telephony.simulator import simulator
from telephony.simulator.server import serve


class Command(BaseCommand):
    help = "Serve a SignalWire-compatible simulator (set ONY_TELEPHONY_API_URL to its URL)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8099)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        key = secrets.token_urlsafe(16)
        server = serve(simulator, host, port, key)
        url = f"http://{host}:{port}"
        self.stdout.write(
            f"Telephony simulator on {url}\n"
            f"  Ony needs: ONY_TELEPHONY_API_URL={url} (and no SIGNALWIRE_PROJECT)\n"
            f"  Softphone: {url}/  (key: {key})\n"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
