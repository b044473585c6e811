"""Approval calls end to end: Ony on a live server, the real twilio client, the simulator.

Acme phones Alice (admin, first on call), then Bob (member, second). Carol is
a viewer with a phone and an on-call slot: viewers are never phoned. The
agent asks through the connector's SDK in a thread, as a custom agent would.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from django.test import LiveServerTestCase, override_settings
from django.utils import timezone

from audit.events import SYSTEM
from handoffs.models import Handoff, Status
from ony import services as org_services
from ony.connector.handoff import Outcome
from ony.connector.sdk import Ony
from ony.models import TOTPDevice
from ony.roles import Role
from telephony.models import ENDED, CallAttempt, CallStatus, Stage
from telephony.simulator import simulator
from telephony.simulator.core import Call
from tests.base import enroll_device, make_handoff
from tests.celery_worker import running_worker
from tests.connector import ConnectorHome
from tests.servers import until

ALICE_PHONE = "+14155550101"
BOB_PHONE = "+14155550102"
CAROL_PHONE = "+14155550103"
WAIT = 20


def migration_handoff(device, nonce: str, title: str = "Migrate") -> Handoff:
    """A high-risk handoff (``db.migrate``), made the way the agent API makes it."""

    return make_handoff(device, "db.migrate", nonce=nonce, target="orders-db", title=title)


class Asking:
    """An agent's request, made in a thread; ``outcome()`` waits for the connector's answer."""

    def __init__(self, client: Ony, action: str, target: str, title: str) -> None:
        self.result: Outcome | None = None
        self._thread = threading.Thread(
            target=self._run, args=(client, action, target, title), daemon=True
        )
        self._thread.start()

    def _run(self, client: Ony, action: str, target: str, title: str) -> None:
        self.result = client.request(action, target, title=title, wait=WAIT)

    def outcome(self) -> Outcome:
        self._thread.join(WAIT + 5)
        assert self.result is not None, "the connector never answered"
        return self.result


class TelephonyTestCase(LiveServerTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.enterClassContext(running_worker())

    def setUp(self) -> None:
        settings = override_settings(
            ONY_TELEPHONY_SIMULATOR=True,
            SIGNALWIRE_PROJECT="",
            ONY_TELEPHONY_API_URL="",
            ONY_PUBLIC_URL=self.live_server_url,
            ONY_CALL_ROUND_PAUSE=0,
            ONY_CALL_RETRY_DELAYS=[0, 0],
        )
        settings.enable()
        self.addCleanup(settings.disable)
        simulator.reset()
        self.addCleanup(simulator.reset)
        self.addCleanup(self.stop_everything)

        self.acme = org_services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        self.alice_m = self.person("alice@acme.test", Role.ADMIN, ALICE_PHONE, 1)
        self.bob_m = self.person("bob@acme.test", Role.MEMBER, BOB_PHONE, 2)
        self.carol_m = self.person("carol@acme.test", Role.VIEWER, CAROL_PHONE, 3)
        self.laptop = enroll_device(self.acme, name="build-laptop")
        self.home = ConnectorHome()
        self.addCleanup(self.home.close)
        self.client_sdk = Ony(self.home.write(self.live_server_url, self.laptop))

    def stop_everything(self) -> None:
        """Leave nothing that could ring on after the test: once the simulator's callbacks
        have arrived, what still waits is withdrawn and open calls are ended, quietly."""
        simulator.settle()
        Handoff.objects.filter(status=Status.PENDING).update(status=Status.CANCELLED)
        CallAttempt.objects.exclude(status__in=ENDED).update(
            status=CallStatus.CANCELED, stage=Stage.DONE
        )

    def person(self, email: str, role: str, phone: str, order: int):
        membership = org_services.add_member(
            self.acme, email, actor=SYSTEM, role=role, phone=phone, oncall_order=order
        )
        org_services.ensure_totp_device(membership.person)
        return membership

    def ask(
        self, action: str = "db.migrate", target: str = "orders-db", title: str = "Migrate"
    ) -> Asking:
        return Asking(self.client_sdk, action, target, title)

    def ringing(self, phone: str) -> Call:
        """The call ringing at ``phone`` (waits for the escalation to place it)."""
        until(lambda: bool(simulator.ringing(to=phone)), WAIT, f"a call to {phone}")
        return simulator.ringing(to=phone)[0]

    def handoff(self) -> Handoff:
        until(lambda: Handoff.objects.exists(), WAIT, "the handoff")
        return Handoff.objects.get()

    def attempts(self, **filters: Any) -> list[CallAttempt]:
        return list(CallAttempt.objects.filter(**filters).order_by("pk"))

    def code_of(self, membership) -> str:
        device = TOTPDevice.objects.get(user=membership.user)
        return str(device.totp().token()).zfill(device.digits)

    def typing_takes_a_while(self, membership) -> None:
        """Age the last wrong code past the decision throttle's delay, as typing would."""
        TOTPDevice.objects.filter(user=membership.user).update(
            decision_failed_at=timezone.now() - timedelta(minutes=1)
        )

    def wrong_code_of(self, membership) -> str:
        return str((int(self.code_of(membership)) + 500_000) % 1_000_000).zfill(6)
