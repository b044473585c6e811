"""A person's own chat accounts, per organization: link (Slack, Telegram) and unlink.

Every action names one of the signed-in person's own memberships; anyone
else's is a 404, whatever the role.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache

from chat import linking, services, slack, telegram
from chat.errors import ChatError
from chat.models import Service
from ony.auth import signed_in_user
from ony.models import Membership
from ony.roles import DECIDE


class SlackIdForm(forms.Form):
    user_id = forms.CharField(label="Your Slack member ID", max_length=32)


class SlackCodeForm(forms.Form):
    code = forms.CharField(label="The code Ony sent you in Slack", max_length=16)


ACTIONS = {"slack_send", "slack_confirm", "telegram_link", "unlink"}


def _own_membership(request: HttpRequest, public_id: str) -> Membership:
    membership = (
        Membership.objects.filter(user=signed_in_user(request), public_id=public_id)
        .select_related("org")
        .first()
    )
    if membership is None:
        raise Http404("No such membership.")
    return membership


def _rows(request: HttpRequest) -> list[dict[str, Any]]:
    memberships = (
        Membership.objects.filter(user=signed_in_user(request))
        .select_related("org")
        .order_by("org__name")
    )
    return [
        {
            "membership": membership,
            "decides": membership.role in DECIDE,
            "on_call": membership.oncall_order is not None,
            "slack_pending": linking.slack_pending(membership),
        }
        for membership in memberships
    ]


def _do(request: HttpRequest, membership: Membership, action: str) -> str:
    """Carry out one action; returns what to tell the person. ``ValidationError`` if refused."""
    if action == "slack_send":
        form = SlackIdForm(request.POST)
        if not form.is_valid():
            raise ValidationError("Type your Slack member ID.", code="invalid")
        linking.slack_send_code(membership, form.cleaned_data["user_id"])
        return "Ony sent you a code in Slack: type it below."
    if action == "slack_confirm":
        code = SlackCodeForm(request.POST)
        if not code.is_valid():
            raise ValidationError("Type the code Ony sent you.", code="invalid")
        linking.slack_confirm(membership, code.cleaned_data["code"])
        return f"Slack is linked: requests of {membership.org.name} will come there."
    service = request.POST.get("service", "")
    if service not in Service.values:
        raise ValidationError("Unknown service.", code="invalid")
    linking.unlink(membership, service, actor=membership.public_id)
    return f"{Service(service).label} is unlinked: nothing more goes there."


@never_cache
def accounts(request: HttpRequest) -> HttpResponse:
    """``/chat/accounts/``: the signed-in person's chat accounts (behind the dashboard's login)."""
    telegram_link: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            return HttpResponse("Unknown action.", status=400, content_type="text/plain")
        membership = _own_membership(request, request.POST.get("membership", ""))
        try:
            if action == "telegram_link":
                telegram_link = {
                    "member": membership.public_id,
                    "url": linking.telegram_link(membership),
                }
            else:
                messages.success(request, _do(request, membership, action))
                return HttpResponseRedirect(reverse("chat:accounts"))
        except ValidationError as refusal:
            messages.error(request, refusal.messages[0])
            return HttpResponseRedirect(reverse("chat:accounts"))
        except ChatError:
            messages.error(request, "Telegram did not answer; try again in a minute.")
            return HttpResponseRedirect(reverse("chat:accounts"))
    context = admin.site.each_context(request) | {
        "title": "Your chat accounts",
        "rows": _rows(request),
        "slack_on": slack.configured(),
        "telegram_on": telegram.configured(),
        "telegram_link": telegram_link,
        "services_on": bool(services.configured_services()),
        "slack_form": SlackIdForm(),
        "code_form": SlackCodeForm(),
    }
    return TemplateResponse(request, "chat/accounts.html", context)
