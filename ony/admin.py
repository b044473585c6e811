"""Dashboard pages for organizations, memberships, users and login devices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from audit.services import actor_for
from ony import api_tokens, services
from ony.admin_base import (
    CheckedSelection,
    OrgScopedAdmin,
    SuperuserOnlyAdmin,
    hold_new_secret,
    secret_created_response,
    take_new_secret,
)
from ony.auth import signed_in_user
from ony.forms import (
    MEMBER_FIELDS,
    InvitationForm,
    MembershipAddForm,
    MembershipChangeForm,
    OrganizationForm,
    UserChangeForm,
    UserCreationForm,
)
from ony.invitations import invitation_link
from ony.models import ApiToken, Invitation, Membership, Organization, TOTPDevice, User
from ony.models.tenancy import has_role, org_ids_for, roles_by_org
from ony.roles import MANAGE, READ

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

admin.site.unregister(Group)


class MemberTotal(TypedDict):
    """What ``OrganizationAdmin.get_queryset`` annotates each organization with."""

    member_total: int


@admin.register(Organization)
class OrganizationAdmin(CheckedSelection):
    """Superusers create and delete organizations; an org's admins edit its settings."""

    form = OrganizationForm
    list_display = ["name", "slug", "timezone", "member_count", "public_id"]
    search_fields = ["name", "slug"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "public_id", "timezone", "created_at"]}),
        (
            "Policy: what happens to a handoff of each risk",
            {"fields": ["policy_low", "policy_medium", "policy_high", "policy_critical"]},
        ),
        (
            "Deadlines",
            {
                "fields": [
                    "deadline_seconds_low",
                    "deadline_seconds_medium",
                    "deadline_seconds_high",
                    "deadline_seconds_critical",
                ]
            },
        ),
        (
            "Chat: when handoffs that go to people are also sent to Slack or Telegram",
            {"fields": ["chat_low", "chat_medium", "chat_high", "chat_critical"]},
        ),
        ("Risk", {"fields": ["risk_overrides"]}),
        ("Payloads", {"fields": ["viewers_read_payloads"]}),
        (
            "Retention (docs/data.md)",
            {"fields": ["payload_retention_days", "detail_retention_days"]},
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = Organization.objects.for_user(request.user)
        people = Count("memberships", filter=Q(memberships__erased_at__isnull=True))
        return qs.annotate(member_total=people)

    @admin.display(description="Members", ordering="member_total")
    def member_count(self, obj: WithAnnotations[Organization, MemberTotal]) -> int:
        return obj.member_total

    def get_readonly_fields(
        self, request: HttpRequest, obj: Organization | None = None
    ) -> list[str]:
        readonly = ["public_id", "created_at"]
        if obj is not None:
            readonly.append("slug")  # scripts and URLs name orgs by slug
        return readonly

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: bool) -> None:
        settings = {f: form.cleaned_data[f] for f in services.EDITABLE_ORG_FIELDS}
        if change:
            services.update_organization(obj, actor=actor_for(request.user, obj), **settings)
            return
        actor = signed_in_user(request).public_id
        created = services.create_organization(
            name=obj.name, slug=obj.slug, timezone=obj.timezone, actor=actor
        )
        services.update_organization(created, actor=actor, **settings)
        obj.pk, obj.public_id = created.pk, created.public_id

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or bool(roles_by_org(request.user))

    def has_view_permission(self, request: HttpRequest, obj: Organization | None = None) -> bool:
        if obj is None:
            return self.has_module_permission(request)
        return has_role(request.user, obj, READ)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Organization | None = None) -> bool:
        if obj is None:
            return request.user.is_superuser or bool(org_ids_for(request.user, MANAGE))
        return has_role(request.user, obj, MANAGE)

    def has_delete_permission(self, request: HttpRequest, obj: Organization | None = None) -> bool:
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(OrgScopedAdmin[Membership]):
    list_display = ["user", "org", "role", "masked_phone", "oncall_order", "public_id"]
    list_filter = [("org", admin.RelatedOnlyFieldListFilter), "role"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user", "org"]
    ordering = ["org__name", "oncall_order", "user__email"]

    @admin.display(description="Phone")
    def masked_phone(self, obj: Membership) -> str:
        if obj.phone and obj.phone_invalid_at:
            return f"{obj.masked_phone} (refused by the provider)"
        return obj.masked_phone

    def get_form(
        self,
        request: HttpRequest,
        obj: Membership | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm]:
        # The forms' own fields (email and remove_phone are not the model's);
        # the admin leaves them all out for someone who may only read.
        if obj is None:
            kwargs["form"], kwargs["fields"] = MembershipAddForm, ["org", "email", *MEMBER_FIELDS]
        else:
            kwargs["form"], kwargs["fields"] = (
                MembershipChangeForm,
                [*MEMBER_FIELDS, "remove_phone"],
            )
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Membership | None = None) -> Any:
        if obj is None:
            fields = ["org", "email", "role", "phone", "timezone", "oncall_order"]
        elif self.has_change_permission(request, obj):
            fields = ["org", "user", "public_id", "role", "phone", "remove_phone"]
            fields += ["timezone", "oncall_order"]
        else:  # read only: the number masked, as everywhere
            fields = ["org", "user", "public_id", "role", "masked_phone", "timezone"]
            fields += ["oncall_order"]
        if obj is None:
            return [(None, {"fields": fields})]
        linked = ["slack_linked", "telegram_linked"]
        return [
            (None, {"fields": fields}),
            ("Chat (each person links their own)", {"fields": linked}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        if obj is None:
            return []
        if not self.has_change_permission(request, obj):
            return ["org", "user", "public_id", "masked_phone", "slack_linked", "telegram_linked"]
        return ["org", "user", "public_id", "slack_linked", "telegram_linked"]

    @admin.display(description="Slack")
    def slack_linked(self, obj: Membership) -> str:
        return "Linked" if obj.slack_user_id else "Not linked"

    @admin.display(description="Telegram")
    def telegram_linked(self, obj: Membership) -> str:
        return "Linked" if obj.telegram_chat_id else "Not linked"

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        self.check_writable(request, [obj])
        fields = {name: form.cleaned_data[name] for name in services.EDITABLE_MEMBER_FIELDS}
        if change:
            services.update_member(obj, actor=actor_for(request.user, obj.org), **fields)
        else:
            actor = actor_for(request.user, obj.org)
            created = services.add_member(
                obj.org, form.cleaned_data["email"], actor=actor, **fields
            )
            obj.pk, obj.user, obj.public_id = created.pk, created.user, created.public_id

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # An org keeps one admin at least: list such a removal as "protected",
        # which makes the delete page (and the bulk action) refuse it politely.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for org in services.orgs_left_without_admin(list(objs)):
            protected.append(f"{org}: it would have no admin left")
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        self.check_writable(request, [obj])
        services.remove_member(obj, actor=actor_for(request.user, obj.org))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        members = list(queryset)
        self.check_writable(request, members)
        with transaction.atomic():  # all or none: a refusal halfway keeps the first ones too
            for membership in members:
                services.remove_member(membership, actor=actor_for(request.user, membership.org))

    def get_urls(self) -> list[Any]:
        erase = path(
            "<int:object_id>/erase/",
            self.admin_site.admin_view(self.erase_view),
            name="ony_membership_erase",
        )
        return [erase, *super().get_urls()]

    def erase_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """GET: what erasing this member does; POST: erase them (the org's admins only)."""
        membership = self.get_queryset(request).filter(pk=object_id).first()
        if membership is None:
            raise Http404("No such member.")
        self.check_writable(request, [membership])
        if request.method == "POST":
            try:
                services.erase_member(membership, actor=actor_for(request.user, membership.org))
            except ValidationError as refusal:
                self.message_user(request, " ".join(refusal.messages), messages.ERROR)
                return redirect("admin:ony_membership_erase", object_id)
            self.message_user(request, f"Erased {membership.public_id}.")
            return redirect("admin:ony_membership_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Erase this member's data",
            "opts": self.model._meta,
            "membership": membership,
            "last_admin": bool(services.orgs_left_without_admin([membership])),
        }
        return TemplateResponse(request, "admin/ony/membership/erase.html", context)


@admin.register(User)
class UserAdmin(SuperuserOnlyAdmin, DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ["email", "full_name", "is_staff", "is_superuser", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "full_name"]
    ordering = ["email"]
    filter_horizontal = []
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]}),
    ]

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # Deleting a user removes their memberships first (audited); an org keeps
        # one admin, so such a deletion is listed as "protected" and refused.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # A user's API tokens and authenticator devices are theirs alone and go
        # with them; nobody deletes them one by one (tokens are revoked), so
        # the admin's per-model delete permission must not block this.
        perms_needed -= {str(ApiToken._meta.verbose_name), str(TOTPDevice._meta.verbose_name)}
        memberships = Membership.objects.filter(user__in=list(objs)).select_related("org")
        for org in services.orgs_left_without_admin(list(memberships)):
            protected.append(f"{org}: it would have no admin left")
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        services.delete_user(obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        with transaction.atomic():
            for user in queryset:
                services.delete_user(user, by=request.user)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(SuperuserOnlyAdmin):
    """Login devices. The secret is never shown here (see `manage.py totp_device`)."""

    list_display = ["user", "name", "confirmed", "last_used_at", "throttling_failure_count"]
    search_fields = ["user__email", "name"]
    fields = ["user", "name", "confirmed", "last_used_at", "throttling_failure_count"]
    readonly_fields = ["user", "last_used_at", "throttling_failure_count"]
    actions = ["reset_throttling"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created by `manage.py totp_device`, which shows the secret once

    @admin.action(description="Reset failed-attempt throttling")
    def reset_throttling(self, request: HttpRequest, queryset: QuerySet) -> None:
        for device in queryset:
            device.throttle_reset()
        self.message_user(request, "Throttling reset.")


@admin.register(ApiToken)
class ApiTokenAdmin(CheckedSelection):
    """Everyone manages their own API tokens; a new one is shown once."""

    list_display = ["name", "user", "created_at", "last_used_at", "revoked_at"]
    fields = ["name"]
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        tokens = super().get_queryset(request).select_related("user")
        return tokens if request.user.is_superuser else tokens.filter(user=request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or bool(roles_by_org(request.user))

    def has_view_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return self.has_module_permission(request) and (
            obj is None or obj.user_id == request.user.pk or request.user.is_superuser
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        record, token = api_tokens.create(signed_in_user(request), obj.name)
        obj.pk, obj.user, obj.created_at = record.pk, record.user, record.created_at
        hold_new_secret(request, token)  # for response_add only; never stored

    def response_add(self, request: HttpRequest, obj: ApiToken, *args: Any) -> HttpResponse:
        return secret_created_response(
            self,
            request,
            lead="Send it as Authorization: Token <token>. It acts with your roles.",
            secret=take_new_secret(request),
        )

    @admin.action(description="Revoke", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        for record in self.get_queryset(request).filter(pk__in=queryset.values("pk")):
            api_tokens.revoke(record)
        self.message_user(request, "Revoked.")


@admin.register(Invitation)
class InvitationAdmin(OrgScopedAdmin[Invitation]):
    """An org's admins invite people by email; the link is shown once (and emailed if set up)."""

    list_display = ["email", "org", "role", "created_by", "created_at", "expires_at", "accepted_at"]
    list_filter = [("org", admin.RelatedOnlyFieldListFilter), "role"]
    list_select_related = ["org", "created_by__user"]
    search_fields = ["email"]
    fields = ["org", "email", "role"]
    form = InvitationForm

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False  # an invitation is made once; it expires by itself

    def has_delete_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Invitation, form: Any, change: bool) -> None:
        self.check_writable(request, [obj])
        user = signed_in_user(request)
        created_by = Membership.objects.for_org(obj.org).filter(user=user).first()
        invitation, token = services.invite(
            obj.org,
            form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            actor=actor_for(user, obj.org),
            created_by=created_by,
        )
        obj.pk, obj.public_id, obj.email = invitation.pk, invitation.public_id, invitation.email
        obj.expires_at = invitation.expires_at
        link = invitation_link(token)
        if services.send_invitation(invitation, link):
            messages.success(request, f"The invitation was emailed to {invitation.email}.")
        hold_new_secret(request, link)  # for response_add only; never stored

    def response_add(self, request: HttpRequest, obj: Invitation, *args: Any) -> HttpResponse:
        expires = obj.expires_at.strftime("%Y-%m-%d %H:%M")
        return secret_created_response(
            self,
            request,
            lead=f"Send this link to {obj.email}: it lets them set a password and an "
            f"authenticator and join {obj.org} as {obj.role}. It works once, until {expires} UTC.",
            secret=take_new_secret(request),
        )
