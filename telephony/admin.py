"""Dashboard: call attempts, read-only, scoped to the viewer's organizations."""

from __future__ import annotations

from typing import ClassVar

from django.contrib import admin

from ony.admin_base import ReadOnlyOrgAdmin
from telephony.models import CallAttempt


@admin.register(CallAttempt)
class CallAttemptAdmin(ReadOnlyOrgAdmin[CallAttempt]):
    list_display = [
        "created_at",
        "request",
        "member_name",
        "phone",
        "round",
        "status",
        "answered_by",
        "outcome",
    ]
    list_filter = [("org", admin.RelatedOnlyFieldListFilter), "status", "outcome"]
    search_fields = ["handoff__public_id", "member__user__email"]
    list_select_related = ["handoff", "member__user", "org"]
    # A tuple, so that it also types as readonly_fields (names only).
    fields: ClassVar[tuple[str, ...]] = (
        "org",
        "request",
        "member_name",
        "phone",
        "round",
        "position",
        "status",
        "answered_by",
        "outcome",
        "otp_failures",
        "provider_tries",
        "created_at",
        "ended_at",
    )
    readonly_fields = fields

    @admin.display(description="Request")
    def request(self, obj: CallAttempt) -> str:
        return obj.handoff.public_id

    @admin.display(description="Approver")
    def member_name(self, obj: CallAttempt) -> str:
        return obj.member.display_name if obj.member else "(removed)"

    @admin.display(description="Phone")
    def phone(self, obj: CallAttempt) -> str:
        return obj.member.masked_phone if obj.member else ""
