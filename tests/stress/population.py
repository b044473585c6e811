"""The organizations, approvers and devices a stress run works with."""

from __future__ import annotations

from dataclasses import dataclass, field

from audit.events import SYSTEM
from devices import services as devices
from devices.services import Enrolled
from ony import api_tokens
from ony import services as org_services
from ony.models import Organization, TOTPDevice
from ony.roles import Role

APPROVERS_PER_ORG = 4
#: The shortest deadline an org may set: requests that wait longer expire.
DEADLINE_SECONDS = 30


@dataclass
class Population:
    orgs: list[Organization] = field(default_factory=list)
    #: Each approver's phone number -> their authenticator (for the TOTP prompt).
    authenticators: dict[str, TOTPDevice] = field(default_factory=dict)
    #: A member's API token per org slug (the "dashboard" decisions).
    member_tokens: dict[str, str] = field(default_factory=dict)
    devices: list[Enrolled] = field(default_factory=list)


def populate(orgs: int, device_count: int) -> Population:
    """``orgs`` organizations with on-call approvers, and ``device_count`` devices among them."""
    population = Population()
    for n in range(orgs):
        org = org_services.create_organization(name=f"Stress {n}", slug=f"stress-{n}", actor=SYSTEM)
        org = org_services.update_organization(
            org,
            actor=SYSTEM,
            deadline_seconds_high=DEADLINE_SECONDS,
            deadline_seconds_critical=DEADLINE_SECONDS,
        )
        population.orgs.append(org)
        for i in range(APPROVERS_PER_ORG):
            phone = f"+1415555{n:02d}{i:02d}"
            member = org_services.add_member(
                org,
                f"approver{i}@stress-{n}.test",
                actor=SYSTEM,
                role=Role.ADMIN if i == 0 else Role.MEMBER,
                phone=phone,
                oncall_order=i + 1,
            )
            population.authenticators[phone] = org_services.ensure_totp_device(member.person)
            if i == 1:
                population.member_tokens[org.slug] = api_tokens.create(member.person, "stress")[1]
    for d in range(device_count):
        org = population.orgs[d % orgs]
        _, token = devices.create_enrollment_token(org)
        population.devices.append(devices.enroll(token, f"agent-{d}"))
    return population
