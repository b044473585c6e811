"""Organizations and memberships (a person's role and contact details in one org)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ony import ids
from ony.models.tenancy import OrgOwned, OrgScopedQuerySet, org_ids_for
from ony.phone import mask_phone, validate_e164
from ony.roles import DECIDE, READ, Role

if TYPE_CHECKING:
    from ony.models.user import User

#: The longest a handoff may wait for a decision, whatever an org configures.
MAX_DEADLINE_SECONDS = 15 * 60
MIN_DEADLINE_SECONDS = 30


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone.", code="invalid_timezone")


def _deadline_field(default: int, risk: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        default=default,
        validators=[
            MinValueValidator(MIN_DEADLINE_SECONDS),
            MaxValueValidator(MAX_DEADLINE_SECONDS),
        ],
        help_text=f"Seconds a {risk}-risk handoff waits for a decision (at most 15 minutes).",
    )


#: Retention periods an org may set, in days: at least a day, at most ten years.
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 1, 3650


def _retention_field(default: int, help_text: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        default=default,
        validators=[MinValueValidator(MIN_RETENTION_DAYS), MaxValueValidator(MAX_RETENTION_DAYS)],
        help_text=help_text,
    )


class Route(models.TextChoices):
    """What an org's policy does with a handoff of a given risk."""

    APPROVE = "approve", "Approve at once"
    ASK = "ask", "Let the agent's own permission prompt decide"
    PHONE = "phone", "Phone the on-call approvers"
    PHONE_TOTP = "phone_totp", "Phone the on-call approvers and ask for a TOTP code"


class ChatRoute(models.TextChoices):
    """Whether a handoff routed to people also goes to their chat (Slack, Telegram), and when."""

    OFF = "off", "No chat messages"
    WITH_CALL = "with_call", "Message the on-call approvers with the first call"
    AFTER_ROUND = "after_round", "Message them once a full round of calls goes unanswered"


#: The routes that phone the on-call approvers.
PHONE_ROUTES = frozenset({Route.PHONE, Route.PHONE_TOTP})

#: The policy floor: whatever an organization stores, a critical handoff goes
#: to a person, who confirms an approval with a TOTP code.
CRITICAL_ROUTE = Route.PHONE_TOTP


def validate_critical_route(value: str) -> None:
    if value != CRITICAL_ROUTE:
        raise ValidationError(
            "Critical actions always go to a person who confirms with a 6-digit code; "
            "no organization can route them anywhere else.",
            code="policy_floor",
        )


#: The checks an org's ``risk_overrides`` must pass. The action taxonomy lives
#: in the handoffs app, which builds on this one and registers its check from
#: its ``AppConfig.ready()`` (``register_risk_override_check``).
RISK_OVERRIDE_CHECKS: list[Callable[[object], None]] = []


def register_risk_override_check(check: Callable[[object], None]) -> None:
    """Add ``check`` (raises ``ValidationError``) to what ``validate_risk_overrides`` runs."""
    if check not in RISK_OVERRIDE_CHECKS:
        RISK_OVERRIDE_CHECKS.append(check)


def validate_risk_overrides(value: object) -> None:
    """``{action: risk}``, each raising (never lowering) the taxonomy's risk.

    With no taxonomy registered nothing can be checked, so nothing is accepted.
    """
    if not RISK_OVERRIDE_CHECKS:
        raise ValidationError("No action taxonomy is installed.", code="no_taxonomy")
    for check in RISK_OVERRIDE_CHECKS:
        check(value)


def _chat_field(risk: str) -> models.CharField:
    return models.CharField(
        max_length=12,
        choices=ChatRoute.choices,
        default=ChatRoute.WITH_CALL,
        help_text=f"Chat messages for a {risk}-risk handoff that goes to people "
        "(members who linked Slack or Telegram).",
    )


def _route_field(
    default: Route, risk: str, *, help_text: str = "", validators: Iterable[Any] = ()
) -> models.CharField:
    return models.CharField(
        max_length=12,
        choices=Route.choices,
        default=default,
        validators=list(validators),
        help_text=help_text or f"What happens to a {risk}-risk handoff.",
    )


class OrganizationQuerySet(models.QuerySet):
    def for_user(self, user: Any, roles: Iterable[str] = READ) -> Self:
        """Organizations where ``user`` holds one of ``roles`` (all, for a superuser)."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(pk__in=org_ids_for(user, roles))


class Organization(models.Model):
    public_id = models.CharField(max_length=16, unique=True, default=ids.org_id, editable=False)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    deadline_seconds_low = _deadline_field(120, "low")
    deadline_seconds_medium = _deadline_field(300, "medium")
    deadline_seconds_high = _deadline_field(600, "high")
    deadline_seconds_critical = _deadline_field(600, "critical")
    policy_low = _route_field(Route.APPROVE, "low")
    policy_medium = _route_field(Route.ASK, "medium")
    policy_high = _route_field(Route.PHONE, "high")
    policy_critical = _route_field(
        CRITICAL_ROUTE,
        "critical",
        help_text="Always phone plus a TOTP code: the floor no organization can lower.",
        validators=[validate_critical_route],
    )
    chat_low = _chat_field("low")
    chat_medium = _chat_field("medium")
    chat_high = _chat_field("high")
    chat_critical = _chat_field("critical")
    risk_overrides = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_risk_overrides],
        help_text='Raise actions\' risks, e.g. {"deploy.staging": "high"}. Never lowers one.',
    )
    viewers_read_payloads = models.BooleanField(
        default=False,
        help_text="Let viewers read the payloads agents attach (diffs, logs, commands). "
        "Members and admins always may; a viewer otherwise sees only that one exists.",
    )
    payload_retention_days = _retention_field(
        30,
        "Days an attached payload is kept; then it is scrubbed (its SHA-256 stays).",
    )
    detail_retention_days = _retention_field(
        90,
        "Days call attempts and chat messages are kept; then they are pruned "
        "(the audit chain's entries about them stay).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def deadline_seconds(self, risk: str) -> int:
        """The configured deadline for ``risk`` (``low`` .. ``critical``)."""
        return getattr(self, f"deadline_seconds_{risk}")

    def route(self, risk: str) -> str:
        """The policy's route for ``risk`` (``low`` .. ``critical``): a ``Route`` value.

        ``critical`` is always ``CRITICAL_ROUTE``, whatever is stored.
        """
        if risk == "critical":
            return CRITICAL_ROUTE
        return getattr(self, f"policy_{risk}")

    def chat_route(self, risk: str) -> str:
        """When a ``risk`` handoff that goes to people is also sent to chat: a ``ChatRoute``."""
        return getattr(self, f"chat_{risk}")


class MembershipQuerySet(OrgScopedQuerySet):
    def on_call(self) -> Self:
        """Members who are called, in call order."""
        return self.filter(oncall_order__isnull=False).order_by("oncall_order", "pk")


class MembershipManager(models.Manager.from_queryset(MembershipQuerySet)):  # type: ignore[misc]
    """Memberships of people: never the rows erased members leave behind."""

    def get_queryset(self) -> MembershipQuerySet:
        return super().get_queryset().filter(erased_at__isnull=True)


class Membership(OrgOwned):
    """A person's place in one organization: role, phone, on-call position, chat ids.

    An erased member (``ony.services.erase_member``) leaves a row with its
    pseudonymous ``public_id``, its role and ``erased_at``, and nothing
    personal: no user, phone or chat ids, so handoffs, calls and the chain
    still name the same ``mem_`` id. ``objects`` never returns those rows;
    ``all_objects`` does (exports list them).
    """

    public_id = models.CharField(max_length=16, unique=True, default=ids.member_id, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        "ony.User", on_delete=models.CASCADE, null=True, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    phone = models.CharField(
        max_length=16, blank=True, validators=[validate_e164], help_text="E.164, e.g. +14155551234."
    )
    timezone = models.CharField(
        max_length=64, blank=True, validators=[validate_timezone], help_text="Blank: the org's."
    )
    oncall_order = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Position in the call order; blank: never called."
    )
    phone_invalid_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the telephony provider refused the number as invalid; "
        "not called until the number changes.",
    )
    # Linked by the member themselves (chat.services), never typed in by an admin.
    telegram_chat_id = models.CharField(
        max_length=32,
        blank=True,
        editable=False,
        help_text="The member's Telegram user id (their private chat with the bot).",
    )
    slack_user_id = models.CharField(
        max_length=32, blank=True, editable=False, help_text="The member's Slack user id."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Class attributes, as OrgOwned's is (django-stubs); their types are inferred.
    # The first is the default manager (the admin's, forms', reverse relations'
    # such as org.memberships). Following a foreign key to a membership
    # (handoff.decided_by, attempt.member, device.owner) uses the base manager
    # and may find an erased one, whose user is None: use display_name.
    objects: ClassVar = MembershipManager()
    all_objects: ClassVar = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["org", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["org", "user"], name="membership_unique_user_per_org")
        ]

    def __str__(self) -> str:
        if self.user is None:
            return f"erased member {self.public_id} of {self.org}"
        return f"{self.user} in {self.org} ({self.role})"

    @property
    def display_name(self) -> str:
        """How pages name this member: their name or email, or the pseudonym once erased."""
        if self.user is None:
            return f"{self.public_id} (erased)"
        return self.user.full_name or self.user.email

    @property
    def person(self) -> User:
        """The member's user account; a ``LookupError`` for an erased member, who has none."""
        if self.user is None:
            raise LookupError(f"{self.public_id} was erased")
        return self.user

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def callable(self) -> bool:
        """Whether the escalation may phone this member: an active decider with a valid number."""
        return (
            bool(self.phone)
            and self.phone_invalid_at is None
            and self.role in DECIDE
            and self.user is not None
            and self.user.is_active
        )
