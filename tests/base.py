"""Shared test fixtures: two organizations and the people in them.

Acme is the organization under test: Alice is its admin, Bob a member, Carol
a viewer. Globex is the other tenant: Gina is its admin, Gus a member. Nobody
in Acme may see or touch anything of Globex, and the other way round.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test import Client, TestCase
from django_otp import DEVICE_ID_SESSION_KEY

from audit.events import SYSTEM
from devices import services as devices
from devices.models import Device
from handoffs import services as handoffs
from handoffs.models import Handoff
from ony import services
from ony.models import Membership, Organization, TOTPDevice, User
from ony.roles import Role

PASSWORD = "correct horse battery staple"


def make_person(org: Organization, email: str, role: str, phone: str = "") -> Membership:
    membership = services.add_member(org, email, actor=SYSTEM, role=role, phone=phone)
    user = membership.person
    if not user.has_usable_password():
        user.set_password(PASSWORD)
        user.save()
    services.ensure_totp_device(user)
    return membership


def current_code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code an authenticator app would show now (or ``steps_ahead`` time steps later).

    A code works once: after one was used (at the login, say), the next
    step's code is the one still accepted (the device tolerates a step of drift).
    """
    device.refresh_from_db()
    totp = device.totp()
    totp.time += steps_ahead * device.step
    return str(totp.token()).zfill(device.digits)


def verified_client(user: User) -> Client:
    """A client logged in to the dashboard as if it had typed a valid TOTP code."""
    client = Client()
    user.refresh_from_db()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user).persistent_id
    session.save()
    return client


class OnyTestCase(TestCase):
    # Set once per class by setUpTestData (see the module docstring).
    acme: Organization
    alice_m: Membership
    bob_m: Membership
    carol_m: Membership
    alice: User
    bob: User
    carol: User
    globex: Organization
    gina_m: Membership
    gus_m: Membership
    gina: User
    gus: User

    @classmethod
    def setUpTestData(cls) -> None:
        cls.acme = services.create_organization(name="Acme", slug="acme", actor=SYSTEM)
        cls.alice_m = make_person(cls.acme, "alice@acme.test", Role.ADMIN, "+14155550101")
        cls.bob_m = make_person(cls.acme, "bob@acme.test", Role.MEMBER, "+14155550102")
        cls.carol_m = make_person(cls.acme, "carol@acme.test", Role.VIEWER, "+14155550103")
        cls.alice, cls.bob, cls.carol = cls.alice_m.person, cls.bob_m.person, cls.carol_m.person

        cls.globex = services.create_organization(name="Globex", slug="globex", actor=SYSTEM)
        cls.gina_m = make_person(cls.globex, "gina@globex.test", Role.ADMIN, "+442079460201")
        cls.gus_m = make_person(cls.globex, "gus@globex.test", Role.MEMBER, "+442079460202")
        cls.gina, cls.gus = cls.gina_m.person, cls.gus_m.person

    def client_for(self, user: User) -> Client:
        return verified_client(user)


def enroll_device(
    org: Organization, name: str = "laptop", created_by: Membership | None = None
) -> devices.Enrolled:
    """A device of ``org``, enrolled the way `ony enroll` does it."""
    _, token = devices.create_enrollment_token(org, created_by=created_by)
    return devices.enroll(token, name)


def make_handoff(
    device: Device,
    action: str = "deploy.production",
    *,
    nonce: str | None = None,
    target: str = "prod-api",
    title: str = "Deploy",
    **fields: Any,
) -> Handoff:
    """A handoff ``device`` asks for through the service the API calls.

    The defaults make a critical request the policy leaves pending for a
    person; pass a low-risk ``action`` (``test.run``) for one decided at once.
    Each call without ``nonce`` makes a new handoff.
    """
    fields.setdefault("agent_session_id", "sess")
    handoff, _ = handoffs.create(
        device,
        action=action,
        target=target,
        title=title,
        nonce=nonce or f"test-{secrets.token_hex(8)}",
        **fields,
    )
    return handoff


def bearer(token: str) -> dict[str, Any]:
    """WSGI environ extras for the test client: ``Client().get(url, **bearer(token))``."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def run_together(*functions: Callable[[], object]) -> None:
    """Run each of ``functions`` in a thread of its own, all at once, and wait for them all.

    Each thread closes its database connection when done (the test database
    could not be dropped with one left open).
    """

    def run(function: Callable[[], object]) -> None:
        try:
            function()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(function,)) for function in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
