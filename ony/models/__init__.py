"""Organizations, people and roles; the TOTP device used for admin login."""

from ony.models.org import Membership, Organization
from ony.models.tenancy import OrgOwned, OrgScopedQuerySet
from ony.models.totp import TOTPDevice
from ony.models.user import User

__all__ = ["Membership", "OrgOwned", "OrgScopedQuerySet", "Organization", "TOTPDevice", "User"]
