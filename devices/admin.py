"""Dashboard: devices (revoke, freeze, unfreeze) and enrollment tokens (shown once)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from audit.services import actor_for
from devices import services
from devices.models import Device, EnrollmentToken
from ony.admin_base import (
    OrgScopedAdmin,
    ReadOnlyOrgAdmin,
    hold_new_secret,
    may,
    secret_created_response,
    take_new_secret,
)
from ony.auth import signed_in_user
from ony.models import Membership
from ony.roles import MANAGE


@admin.register(Device)
class DeviceAdmin(ReadOnlyOrgAdmin[Device]):
    """Devices come from enrollment and stay (their audit trail does); keys are never shown."""

    list_display = ["name", "public_id", "org", "owner", "status", "created_at", "last_seen_at"]
    list_filter = [("org", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "public_id"]
    list_select_related = ["org", "owner__user"]
    # A tuple, so that it also types as readonly_fields (names only).
    fields: ClassVar[tuple[str, ...]] = (
        "name",
        "public_id",
        "org",
        "owner",
        "status",
        "created_at",
        "last_seen_at",
        "revoked_at",
        "frozen_at",
        "frozen_reason",
    )
    readonly_fields = fields
    actions = ["revoke", "freeze", "unfreeze"]

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return may(request, None, MANAGE)

    def _each(self, request: HttpRequest, queryset: QuerySet, change: Any, done: str) -> None:
        devices = list(queryset.select_related("org"))
        self.check_writable(request, devices)
        for device in devices:
            change(device, actor=actor_for(request.user, device.org))
        self.message_user(request, f"{len(devices)} device(s) {done}.", messages.SUCCESS)

    @admin.action(description="Revoke (for good)", permissions=["manage"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, services.revoke, "revoked")

    @admin.action(description="Freeze", permissions=["manage"])
    def freeze(self, request: HttpRequest, queryset: QuerySet) -> None:
        def freeze_by_admin(device: Device, *, actor: str) -> Device:
            return services.freeze(device, actor=actor, reason="admin")

        self._each(request, queryset, freeze_by_admin, "frozen")

    @admin.action(description="Unfreeze", permissions=["manage"])
    def unfreeze(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, services.unfreeze, "unfrozen")


@admin.register(EnrollmentToken)
class EnrollmentTokenAdmin(OrgScopedAdmin[EnrollmentToken]):
    """Creating one shows the token once, on the page that answers the form."""

    list_display = ["org", "created_by", "created_at", "expires_at", "used_at", "device"]
    list_filter = [("org", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["org", "created_by__user", "device"]
    fields = ["org"]

    def has_change_permission(
        self, request: HttpRequest, obj: EnrollmentToken | None = None
    ) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: EnrollmentToken, form: Any, change: bool
    ) -> None:
        self.check_writable(request, [obj])
        user = signed_in_user(request)
        created_by = Membership.objects.for_org(obj.org).filter(user=user).first()
        record, token = services.create_enrollment_token(obj.org, created_by=created_by)
        obj.pk, obj.expires_at, obj.created_at = record.pk, record.expires_at, record.created_at
        hold_new_secret(request, token)  # for response_add only; never stored

    def response_add(self, request: HttpRequest, obj: EnrollmentToken, *args: Any) -> HttpResponse:
        expires = obj.expires_at.strftime("%Y-%m-%d %H:%M:%S")
        token = take_new_secret(request)
        return secret_created_response(
            self,
            request,
            lead=f"This token enrolls one machine into {obj.org}. It works once and expires at "
            f"{expires} UTC.",
            secret=token,
            command_lead="On the agent's machine:",
            command=f"ony enroll --server {settings.ONY_PUBLIC_URL} --token {token}",
        )
