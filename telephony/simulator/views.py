"""The simulator inside Ony (DEBUG or ONY_TELEPHONY_SIMULATOR): its API and the softphone page.

``/telephony/simulator/2010-04-01/...`` is the provider API the twilio client
talks to (Basic auth, no CSRF: it is a server-to-server API). The phone
actions and the softphone page are for staff who have passed TOTP, and show
only calls Ony placed to them (a superuser sees all).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_otp.middleware import is_verified

from ony.auth import signed_in_user
from telephony.conf import simulator_enabled
from telephony.selectors import request_of_call, rings_for
from telephony.simulator import SimulatorError, phone, simulator
from telephony.simulator.core import Call


def _require_simulator() -> None:
    if not simulator_enabled():
        raise Http404("The telephony simulator is off.")


@csrf_exempt
def provider_api(request: HttpRequest, path: str) -> JsonResponse:
    _require_simulator()
    status, body = simulator.rest(
        request.method, path, request.META.get("HTTP_AUTHORIZATION", ""), dict(request.POST.lists())
    )
    return JsonResponse(body, status=status)


def _theirs(request: HttpRequest) -> Callable[[Call], bool] | None:
    """Which calls the person may see and act on: those placed to them (a superuser: all)."""
    if request.user.is_superuser:
        return None
    user = signed_in_user(request)
    return lambda call: rings_for(user, call.url)


def _verified_staff(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        _require_simulator()
        # What OTPMiddleware's request.user.is_verified() calls; django-otp is untyped.
        if not is_verified(request.user):
            return JsonResponse(
                {"code": "not_verified", "detail": "Log in with TOTP first."}, status=403
            )
        return view(request, *args, **kwargs)

    return staff_member_required(wrapper)


@require_GET
@_verified_staff
def softphone(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "telephony/softphone.html",
        {"api_base": "/telephony/simulator/", "standalone": False},
    )


@require_GET
@_verified_staff
def phone_calls(request: HttpRequest) -> JsonResponse:
    """The calls to the person's numbers, each with the request it is about (if theirs)."""
    calls = phone.calls(simulator, _theirs(request))
    for call in calls:
        ringing = simulator.calls.get(call["sid"])
        if ringing is not None:
            call["request"] = request_of_call(request.user, ringing.url)
    return JsonResponse({"calls": calls})


@require_POST
@_verified_staff
def phone_action(request: HttpRequest, sid: str, action: str) -> JsonResponse:
    theirs = _theirs(request)
    call = simulator.calls.get(sid)
    if call is None or (theirs is not None and not theirs(call)):
        return JsonResponse({"code": "not_found", "detail": "No such call."}, status=404)
    try:
        return JsonResponse(phone.act(simulator, sid, action, request.POST.dict()))
    except SimulatorError as error:
        return JsonResponse({"code": "not_now", "detail": str(error)}, status=409)
