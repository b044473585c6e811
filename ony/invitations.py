"""Joining an organization from an invitation link: a password, an authenticator, the inbox.

The link's token is the capability; the page needs no login. A new person
sets a password and enrolls the authenticator shown as a QR code by typing
one of its codes, and is then logged in (with TOTP) on the inbox. Someone who
already has an account just joins, and logs in as usual.
"""

from __future__ import annotations

from base64 import b32encode
from urllib.parse import quote, urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login

from ony import services
from ony.models import Invitation, TOTPDevice

INBOX = "admin:handoffs_handoff_changelist"


class AcceptForm(forms.Form):
    password1 = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password, again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    code = forms.RegexField(
        regex=r"^[0-9]{6}$",
        label="The 6-digit code your authenticator app now shows for Ony",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )

    def clean(self) -> dict[str, str]:
        cleaned = super().clean() or {}
        if cleaned.get("password1") != cleaned.get("password2"):
            raise ValidationError("The two passwords differ.", code="password_mismatch")
        return cleaned


def invitation_link(token: str) -> str:
    """The link an invitee opens (absolute, from ``ONY_PUBLIC_URL``)."""
    return settings.ONY_PUBLIC_URL + reverse("invitation", args=[token])


def _otpauth(invitation: Invitation, key_hex: str) -> tuple[str, str]:
    """(base32 secret, otpauth URI) for the authenticator the page offers."""
    secret = b32encode(bytes.fromhex(key_hex)).decode()
    issuer = settings.OTP_TOTP_ISSUER.replace(":", "")
    label = quote(f"{issuer}:{invitation.email}")
    query = urlencode({"secret": secret, "algorithm": "SHA1", "digits": 6, "period": 30})
    return secret, f"otpauth://totp/{label}?{query}&issuer={quote(issuer)}"


@never_cache
def accept(request: HttpRequest, token: str) -> HttpResponse:
    context = admin.site.each_context(request)
    try:
        invitation = services.invitation_for(token)
    except ValidationError as refusal:
        context |= {"title": "Invitation", "refusal": refusal.messages[0]}
        return TemplateResponse(request, "ony/invitation.html", context, status=410)
    new_person = services.needs_credentials(invitation)
    form = AcceptForm(request.POST or None) if new_person else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            membership = services.accept_invitation(
                token,
                password=form.cleaned_data["password1"] if form else "",
                code=form.cleaned_data["code"] if form else "",
            )
        except ValidationError as refusal:
            if form is None:
                raise
            form.add_error(None, refusal)
        else:
            if not new_person:
                messages.success(request, f"You joined {invitation.org.name}: log in as usual.")
                return HttpResponseRedirect(reverse("admin:login") + "?next=" + reverse(INBOX))
            user = membership.user
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            otp_login(request, TOTPDevice.objects.get(user=user, confirmed=True))
            messages.success(request, f"Welcome to {invitation.org.name} on Ony.")
            return HttpResponseRedirect(reverse(INBOX))
    secret, uri = _otpauth(invitation, services.invitation_totp_key(token))
    context |= {
        "title": f"Join {invitation.org.name}",
        "invitation": invitation,
        "form": form,
        "secret": secret,
        "otpauth": uri,
        # segno's SVG: generated markup, no text from the request.
        "qr": mark_safe(segno.make(uri, error="m").svg_inline(scale=4)),  # noqa: S308
    }
    return TemplateResponse(request, "ony/invitation.html", context)
