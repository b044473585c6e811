"""The dashboard's base: the OTP-protected admin site and organization scoping.

``OrgScopedAdmin`` is the ModelAdmin for every ``OrgOwned`` model: rows come
from ``for_user``, the ``org`` choices are the organizations the user manages,
and every write is re-checked against the row's own organization.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast
from weakref import WeakKeyDictionary

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.models import Device

from ony.models import Organization
from ony.models.tenancy import OrgOwned, OrgScopedQuerySet, has_role, org_ids_for, roles_by_org
from ony.roles import MANAGE, READ

#: The one answer to any failed login: it never tells a wrong password from a
#: wrong or missing code, or a locked device from either.
LOGIN_REFUSED = (
    "Please enter a correct email, password and authenticator code. Note that codes "
    "change every 30 seconds and each works once."
)


class OnyAdminLoginForm(OTPAdminAuthenticationForm):
    """django-otp's admin login form, with one error for every failure.

    Since django-otp 1.7 the form asks which device a code is for (trying each
    would count failures against the others). People here have one TOTP
    device, so a code typed with no device chosen goes to that one.

    A wrong code after a right password counts as a failed login for the
    lockout (django-axes), as a wrong password does.
    """

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            if self.user_cache is not None:  # the password was right, the code was not
                user_login_failed.send(
                    sender=type(self),
                    credentials={"username": self.cleaned_data.get("username", "")},
                    request=self.request,
                )
            raise ValidationError(LOGIN_REFUSED, code="invalid_login") from None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["otp_token"].widget.attrs.update(
            autocomplete="one-time-code", inputmode="numeric"
        )

    def _chosen_device(self, user: Any) -> Device | None:
        device = super()._chosen_device(user)
        if device is None:
            devices = list(devices_for_user(user, confirmed=True))
            if len(devices) == 1:
                device = devices[0]
        return device


class OnyAdminSite(OTPAdminSite):
    """Login needs email, password and a TOTP code; members see only their orgs."""

    login_form = OnyAdminLoginForm
    site_url = None  # the dashboard is the whole site
    # The width goes to the pages (the inbox has many columns); the index
    # lists every section, and the breadcrumbs lead back to it.
    enable_nav_sidebar = False
    # The panels above the list of sections come from ony.dashboard, which
    # ony.urls serves at this site's index URL.
    index_template = "admin/ony/index.html"
    site_header = "Ony"
    site_title = "Ony"
    index_title = "Dashboard"

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["ony_source_url"] = settings.ONY_SOURCE_URL
        return context

    def has_permission(self, request: HttpRequest) -> bool:
        # OTPAdminSite: active, staff, and verified with a TOTP code this session.
        if not super().has_permission(request):
            return False
        return request.user.is_superuser or bool(roles_by_org(request.user))


def may(request: HttpRequest, org_pk: int | None, roles: frozenset[str]) -> bool:
    """Whether the user holds ``roles`` in ``org_pk`` (or, if None, in any org)."""
    user = request.user
    if user.is_superuser:
        return True
    if org_pk is None:
        return bool(org_ids_for(user, roles))
    return has_role(user, org_pk, roles)


class CheckedSelection(admin.ModelAdmin):
    """Bulk actions only on ids that are ids: Django's own would query with whatever was
    posted as ``_selected_action`` ("abc", a NUL) and fail with a 500."""

    def response_action(
        self, request: HttpRequest, queryset: QuerySet, *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if not all(value.isascii() and value.isdigit() for value in selected):
            self.message_user(request, "Those are not items of this list.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset, *args, **kwargs)


class SuperuserOnlyAdmin(CheckedSelection):
    """Installation-wide models (users, login devices): superusers only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser


#: The model an ``OrgScopedAdmin`` shows.
OrgOwnedT = TypeVar("OrgOwnedT", bound=OrgOwned)


# Generic in its model through typing.Generic: ModelAdmin[...] itself cannot be
# subscripted at run time (that needs django-stubs-ext), so subclasses name their
# model here, e.g. OrgScopedAdmin[Membership].
class OrgScopedAdmin(CheckedSelection, Generic[OrgOwnedT]):
    """ModelAdmin for ``OrgOwned`` models.

    Everyone with a role in an org reads its rows; ``write_roles`` (admins by
    default) add, change and delete them.
    """

    write_roles: frozenset[str] = MANAGE

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrgOwnedT]:
        # OrgOwned models' managers make OrgScopedQuerySets; ModelAdmin's stub
        # only knows a plain QuerySet.
        rows = cast(OrgScopedQuerySet, super().get_queryset(request))
        return rows.for_user(request.user)

    def org_pk_of(self, obj: OrgOwnedT) -> int:
        return obj.org_id

    def _org_pk_or_none(self, obj: OrgOwnedT | None) -> int | None:
        return None if obj is None else self.org_pk_of(obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may(request, None, READ)

    def has_view_permission(self, request: HttpRequest, obj: OrgOwnedT | None = None) -> bool:
        return may(request, self._org_pk_or_none(obj), READ)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may(request, None, self.write_roles)

    def has_change_permission(self, request: HttpRequest, obj: OrgOwnedT | None = None) -> bool:
        return may(request, self._org_pk_or_none(obj), self.write_roles)

    def has_delete_permission(self, request: HttpRequest, obj: OrgOwnedT | None = None) -> bool:
        return may(request, self._org_pk_or_none(obj), self.write_roles)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is Organization:
            kwargs["queryset"] = Organization.objects.for_user(request.user, self.write_roles)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def check_writable(self, request: HttpRequest, objs: list[OrgOwnedT]) -> None:
        """Refuse (403) a write that touches a row outside the user's managed orgs.

        The changelist shows rows of every org the user can read, so a bulk
        action must not reach the ones they only read.
        """
        for obj in objs:
            if not may(request, self.org_pk_of(obj), self.write_roles):
                raise PermissionDenied

    def save_model(self, request: HttpRequest, obj: OrgOwnedT, form: Any, change: bool) -> None:
        self.check_writable(request, [obj])
        super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: OrgOwnedT) -> None:
        self.check_writable(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OrgOwnedT]) -> None:
        self.check_writable(request, list(queryset))
        super().delete_queryset(request, queryset)


class ReadOnlyOrgAdmin(OrgScopedAdmin[OrgOwnedT]):
    """Everyone in the org may read; nobody, superusers included, adds, changes or deletes."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OrgOwnedT | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OrgOwnedT | None = None) -> bool:
        return False


#: Secrets made by ``save_model`` for the ``response_add`` of the same request,
#: which shows them once and forgets them. Weakly keyed by the request: an
#: entry never outlives its request, and the plain secret is never written to
#: the database, a session or a log.
_new_secrets: WeakKeyDictionary[HttpRequest, str] = WeakKeyDictionary()


def hold_new_secret(request: HttpRequest, secret: str) -> None:
    """Keep ``secret`` for this request's ``response_add`` (see ``take_new_secret``)."""
    _new_secrets[request] = secret


def take_new_secret(request: HttpRequest) -> str:
    """The secret ``hold_new_secret`` kept for this request; it is forgotten here."""
    return _new_secrets.pop(request)


def secret_created_response(
    model_admin: admin.ModelAdmin, request: HttpRequest, *, lead: str, secret: str, **extra: Any
) -> TemplateResponse:
    """The page that shows a new secret once (it is stored only as a hash)."""
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{opts.verbose_name.capitalize()} created",
        "opts": opts,
        "lead": lead,
        "secret": secret,
        "back_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        **extra,
    }
    return TemplateResponse(request, "admin/secret_created.html", context)
