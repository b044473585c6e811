"""Which telephony provider Ony talks to, read from settings at the moment of use.

Three kinds, in this order:

- ``signalwire``: ``SIGNALWIRE_PROJECT`` and ``SIGNALWIRE_SPACE`` set; the
  twilio client talks to ``https://{space}/api/laml``.
- ``twilio``: ``SIGNALWIRE_PROJECT`` set (an account SID) and no space; the
  twilio client's default base URL.
- ``simulator``: no credentials and ``ONY_TELEPHONY_SIMULATOR`` on (the default
  in DEBUG): the built-in simulator (``telephony.simulator``), with
  credentials and a signing key derived from ``SECRET_KEY``.

Otherwise there is no provider and nobody is phoned (a system check refuses
that in production while a policy routes handoffs to the phone).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NamedTuple

from django.conf import settings

SIMULATOR_PATH = "/telephony/simulator"


class Provider(NamedTuple):
    kind: str  # "signalwire", "twilio" or "simulator"
    project: str
    token: str
    signing_key: str
    from_number: str
    api_base_url: str  # "" for the twilio client's default


def _derived(label: str) -> str:
    """A stable secret for the simulator, derived from SECRET_KEY (never SECRET_KEY itself)."""
    return hmac.new(settings.SECRET_KEY.encode(), label.encode(), hashlib.sha256).hexdigest()[:32]


SIMULATOR_FROM_NUMBER = "+15005550006"


def simulator_provider() -> Provider:
    base = settings.ONY_TELEPHONY_API_URL or settings.ONY_PUBLIC_URL + SIMULATOR_PATH
    return Provider(
        kind="simulator",
        project="PJ" + _derived("ony-simulator-project"),
        token=_derived("ony-simulator-token"),
        signing_key=_derived("ony-simulator-signing-key"),
        from_number=settings.SIGNALWIRE_FROM_NUMBER or SIMULATOR_FROM_NUMBER,
        api_base_url=base.rstrip("/"),
    )


def provider() -> Provider | None:
    """The configured provider, or ``None`` when calls cannot be placed."""
    if settings.SIGNALWIRE_PROJECT:
        space = settings.SIGNALWIRE_SPACE
        return Provider(
            kind="signalwire" if space else "twilio",
            project=settings.SIGNALWIRE_PROJECT,
            token=settings.SIGNALWIRE_TOKEN,
            # Twilio signs webhooks with the auth token; SignalWire with its signing key.
            signing_key=settings.SIGNALWIRE_SIGNING_KEY or settings.SIGNALWIRE_TOKEN,
            from_number=settings.SIGNALWIRE_FROM_NUMBER,
            api_base_url=(
                settings.ONY_TELEPHONY_API_URL or (f"https://{space}/api/laml" if space else "")
            ).rstrip("/"),
        )
    if settings.ONY_TELEPHONY_SIMULATOR:
        return simulator_provider()
    return None


def simulator_enabled() -> bool:
    current = provider()
    return current is not None and current.kind == "simulator"
