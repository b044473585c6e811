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
from ony.auth import verified_user
from ony.models import Invitation, TOTPDevice, User

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
    signed_in = request.user if isinstance(request.user, User) else None
    if signed_in is not None and signed_in.email != invitation.email:
        # Accepting would switch this browser to another person without a word.
        context |= {
            "title": "Invitation",
            "refusal": f"You are logged in as {signed_in.email}, and this invitation is for "
            f"{invitation.email}: log out first.",
        }
        return TemplateResponse(request, "ony/invitation.html", context, status=409)
    if not new_person:
        return _join_existing(request, token, invitation, context)
    form = AcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.accept_invitation(
                token, password=form.cleaned_data["password1"], code=form.cleaned_data["code"]
            )
        except ValidationError as refusal:
            form.add_error(None, refusal)
        else:
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


def _join_existing(
    request: HttpRequest, token: str, invitation: Invitation, context: dict
) -> HttpResponse:
    """Someone with an account: logged in as the invited address, one click joins."""
    verified = verified_user(request.user)
    if request.method == "POST" and verified is not None:
        try:
            services.accept_invitation(token, joining=verified)
        except ValidationError as refusal:
            context |= {"title": "Invitation", "refusal": refusal.messages[0]}
            return TemplateResponse(request, "ony/invitation.html", context, status=410)
        messages.success(request, f"You joined {invitation.org.name}.")
        return HttpResponseRedirect(reverse(INBOX))
    login_url = reverse("admin:login") + "?" + urlencode({"next": request.path})
    context |= {
        "title": f"Join {invitation.org.name}",
        "invitation": invitation,
        "existing": True,
        "verified": verified is not None,
        "login_url": login_url,
    }
    return TemplateResponse(request, "ony/invitation.html", context)
