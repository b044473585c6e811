"""The demo organization that ``make run`` and scripts rely on."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction

from audit.events import SYSTEM
from ony import services
from ony.models import Membership, Organization, TOTPDevice, User
from ony.roles import Role

DEMO_ORG_SLUG = "demo"
DEMO_ADMIN_EMAIL = "admin@demo.local"
#: A fictional number (555-01xx): in the demo, approval calls ring at the softphone page.
DEMO_PHONE = "+14155550100"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    device: TOTPDevice


@transaction.atomic
def seed_demo(password: str = "") -> DemoLogin:
    """Make sure org ``demo`` and its admin ``admin@demo.local`` exist; return the login.

    Idempotent: the org, the user and the TOTP device are reused. The password
    is set to ``password``, or to a fresh random one when none is given, so the
    login returned always works. The demo admin is a superuser, so the whole
    dashboard can be explored. The admin is first on call, with a fictional
    number the telephony simulator rings (``/telephony/softphone/``).
    """
    org = Organization.objects.filter(slug=DEMO_ORG_SLUG).first()
    if org is None:
        org = services.create_organization(name="Demo", slug=DEMO_ORG_SLUG, actor=SYSTEM)
    user = User.objects.filter(email=DEMO_ADMIN_EMAIL).first()
    if user is None:
        user = User.objects.create_superuser(DEMO_ADMIN_EMAIL, full_name="Demo Admin")
    if not Membership.objects.for_org(org).filter(user=user).exists():
        services.add_member(
            org,
            DEMO_ADMIN_EMAIL,
            actor=SYSTEM,
            role=Role.ADMIN,
            oncall_order=1,
            phone=DEMO_PHONE,
        )
    password = password or secrets.token_urlsafe(12)
    user.set_password(password)
    user.save(update_fields=["password"])
    device = services.ensure_totp_device(user)
    return DemoLogin(email=user.email, password=password, device=device)
