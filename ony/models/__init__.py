"""Organizations, people and roles; the TOTP device used for admin login."""

from ony.models.invitations import Invitation
from ony.models.org import Membership, Organization
from ony.models.tenancy import OrgOwned, OrgScopedQuerySet
from ony.models.tokens import ApiToken
from ony.models.totp import TOTPDevice
from ony.models.user import User

__all__ = [
    "ApiToken",
    "Invitation",
    "Membership",
    "OrgOwned",
    "OrgScopedQuerySet",
    "Organization",
    "TOTPDevice",
    "User",
]
