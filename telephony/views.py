"""The provider's webhooks: signed POSTs in, cXML out. Thin: each calls one service.

None of these URLs redirects (a redirect would drop ``Digits``): they end
without a slash, as the provider is told to request them, and anything that
is not a validly signed POST is refused before a service runs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from telephony import ivr, services
from telephony.conf import provider
from telephony.signatures import is_signed

DIGITS = re.compile(r"^[0-9*#]{1,12}$")
CXML = "text/xml; charset=utf-8"
FORM = "application/x-www-form-urlencoded"


def _error(code: str, detail: str, status: int) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def provider_webhook(view: Callable[..., str]) -> Callable[..., HttpResponse]:
    """POST only, signed with the provider's signing key; the view returns cXML text."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest, code: str) -> HttpResponse:
        if request.method != "POST":
            return _error("method_not_allowed", "Webhooks are POST requests.", 405)
        if request.content_type != FORM and request.META.get("CONTENT_LENGTH") not in (
            None,
            "",
            "0",
        ):
            # Providers post forms, urlencoded; a multipart body would bypass the
            # checks that every other field value gets.
            return _error("unsupported_media_type", f"Webhooks are {FORM}.", 415)
        current = provider()
        if current is None:
            return _error("telephony_off", "No telephony provider is configured.", 404)
        if not is_signed(request, current.signing_key):
            return _error("invalid_signature", "Missing or invalid webhook signature.", 403)
        try:
            return HttpResponse(view(request, code), content_type=CXML)
        except services.TelephonyError as refusal:
            return _error(refusal.code, refusal.detail, refusal.status)

    return wrapper


@provider_webhook
def answer(request: HttpRequest, code: str) -> str:
    return ivr.answer(code, request.POST)


@provider_webhook
def keys(request: HttpRequest, code: str) -> str:
    digits = request.POST.get("Digits", "")
    if not DIGITS.match(digits):
        raise services.TelephonyError("invalid_digits", "Digits must be keypad keys.", 400)
    return ivr.keys(code, request.GET.get("step", ""), digits)


@provider_webhook
def silence(request: HttpRequest, code: str) -> str:
    return ivr.silence(code, request.GET.get("step", ""))


@provider_webhook
def status(request: HttpRequest, code: str) -> str:
    services.record_status(code, request.POST)
    return ""
