"""The built-in telephony simulator: one per process (``simulator``), see ``core``."""

from __future__ import annotations

from telephony.conf import simulator_provider
from telephony.simulator.core import Credentials, Simulator, SimulatorError

__all__ = ["Credentials", "Simulator", "SimulatorError", "credentials", "simulator"]


def credentials() -> Credentials:
    """The simulator's project, token and signing key, as Ony's settings derive them."""
    provider = simulator_provider()
    return Credentials(provider.project, provider.token, provider.signing_key)


simulator = Simulator(credentials)
