"""Dashboard forms for memberships and users."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import ValidationError

from ony.models import Invitation, Membership, Organization, User
from ony.models.user import normalize_email
from ony.phone import normalize_e164
from ony.roles import MANAGE
from ony.services import is_last_admin

MEMBER_FIELDS = ["role", "phone", "timezone", "oncall_order"]


class PersonEmailField(forms.EmailField):
    """An email as accounts store it: trimmed, lower-cased, then checked as stored (what
    lower-casing makes of "İ" is no address), at most 254 characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        return normalize_email(super().to_python(value) or "")


def refuse_a_member(org: Any, email: str | None) -> None:
    """``already_member`` if the person with ``email`` is in ``org`` already."""
    if org and email:
        already = Membership.objects.for_org(org).filter(user__email=normalize_email(email))
        if already.exists():
            raise ValidationError(f"{email} is already a member.", code="already_member")


class MembershipFormBase(forms.ModelForm):
    """Phone numbers may be typed with spaces and punctuation; they are stored as E.164."""

    phone = forms.CharField(
        required=False, max_length=32, help_text="International form, e.g. +1 415 555 0100."
    )

    def clean_phone(self) -> str:
        phone = self.cleaned_data.get("phone", "")
        return normalize_e164(phone) if phone else ""


class MembershipAddForm(MembershipFormBase):
    """Add a person to an org by email, so no list of the installation's users is shown."""

    email = PersonEmailField(help_text="A new address creates the user.")

    class Meta:
        model = Membership
        fields = ["org", "email", *MEMBER_FIELDS]

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm's returns self.cleaned_data
        refuse_a_member(self.cleaned_data.get("org"), self.cleaned_data.get("email"))
        return self.cleaned_data


class MembershipChangeForm(MembershipFormBase):
    """Change role and contact details; the org and the person stay as they are.

    The phone number is never shown: the field starts empty, its help text
    shows the masked number, and an empty field keeps the number as it is.
    """

    remove_phone = forms.BooleanField(required=False, label="Remove the phone number")

    class Meta:
        model = Membership
        fields = MEMBER_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["phone"] = ""
        current = self.instance.masked_phone if self.instance.phone else "none"
        self.fields["phone"].help_text = (
            f"Now: {current}. Type a new number in international form (+1 415 555 0100) to "
            "replace it; leave empty to keep it."
        )

    def clean_phone(self) -> str:
        phone = super().clean_phone()
        if self.data.get(self.add_prefix("remove_phone")):
            return ""
        return phone or self.instance.phone

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if role not in MANAGE and is_last_admin(self.instance):
            raise ValidationError(
                "An organization needs at least one admin: make someone else admin first.",
                code="last_admin",
            )
        return role


class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class InvitationForm(forms.ModelForm):
    """Invite a person by email; someone already in the org is refused here, not later."""

    email = PersonEmailField()

    class Meta:
        model = Invitation
        fields = ["org", "email", "role"]

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm's returns self.cleaned_data
        refuse_a_member(self.cleaned_data.get("org"), self.cleaned_data.get("email"))
        return self.cleaned_data


class RiskOverridesField(forms.JSONField):
    """``{action: risk}`` as JSON text: an object of strings, or nothing (no overrides).

    Django skips a model's validators for "empty" values ([] or ""), and its
    JSON field would store ``null``; both are refused here, and so is JSON
    nested too deeply to parse or holding text that is not valid Unicode.
    """

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return {}
        try:
            return super().to_python(value)
        except RecursionError:
            raise ValidationError("This JSON is nested too deeply.", code="too_deep") from None

    def bound_data(self, data: Any, initial: Any) -> Any:
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)

    def prepare_value(self, value: Any) -> Any:
        # Shown back as ASCII JSON: a lone surrogate written as an escape ("\ud800")
        # must not reach the page as a character no encoding can write.
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=True, cls=self.encoder)

    def validate(self, value: Any) -> None:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValidationError(
                'Write an object of action to risk, such as {"deploy.staging": "high"}.',
                code="invalid",
            )
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Send valid Unicode text.", code="invalid_text") from None
        super().validate(value)


class OrganizationForm(forms.ModelForm):
    """An organization's settings (the dashboard names the fields it shows)."""

    risk_overrides = RiskOverridesField(
        required=False,
        help_text='Raise actions\' risks, e.g. {"deploy.staging": "high"}. Never lowers one.',
    )

    class Meta:
        model = Organization
        fields = ["risk_overrides"]
