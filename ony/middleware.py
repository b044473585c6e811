"""Request checks that come before every view."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from ony.api.errors import error_body

NUL = "\x00"


def refuse_nul_characters(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Refuse (400 ``invalid_characters``) a NUL character in the path, query or form fields.

    No identifier, slug, code or text of Ony contains one, and PostgreSQL
    cannot store or compare text with it: a NUL reaching a query would
    otherwise fail there as a server error.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            body = error_body("invalid_characters", "The request contains a NUL character.")
            return JsonResponse(body, status=400)
        return get_response(request)

    return middleware


def _has_nul(request: HttpRequest) -> bool:
    if NUL in request.path:
        return True
    fields = [request.GET, request.POST] if _is_form(request) else [request.GET]
    return any(
        NUL in name or any(NUL in value for value in values)
        for query in fields
        for name, values in query.lists()
    )


def _is_form(request: HttpRequest) -> bool:
    """A url-encoded form (the dashboard's, the telephony webhooks').

    Multipart bodies are left to the view: parsing them here would use up the
    stream that an API view reads (and refuses, 415) itself.
    """
    return request.method == "POST" and request.content_type == "application/x-www-form-urlencoded"
