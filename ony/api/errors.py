"""One error format for the whole API: ``{"code": "snake_case", "detail": "text"}``.

``code`` is stable and meant for programs; ``detail`` is for people. Field
validation errors add ``errors``: ``{field: [{"code", "detail"}]}``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from ony.api.output import renderer
from ony.refusal import Refusal


class RefusalError(exceptions.APIException):
    """A service's ``Refusal`` as an API error, with the refusal's own status."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.detail, refusal.code)
        self.status_code = refusal.status


class ErrorSerializer(serializers.Serializer):
    """Every error body, as served and as the OpenAPI schema documents it."""

    code = serializers.CharField(help_text="Stable, snake_case: for programs.")
    detail = serializers.CharField(help_text="For people.")
    # The error shape's key. DRF's metaclass moves declared fields out of the class
    # body, so at run time this never hides the Serializer.errors property.
    errors = serializers.JSONField(  # type: ignore[assignment]  # popped by DRF's metaclass
        required=False, help_text="Validation errors by field: {field: [{code, detail}]}."
    )


_render_error = renderer(ErrorSerializer)


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """``{"code", "detail"}`` (and ``errors`` for field errors), through ``ErrorSerializer``."""
    return _render_error({"code": code, "detail": detail, **extra})


#: Field errors whose framework message repeats what was sent: answered with
#: these words instead (raw input is never echoed, so it can neither break the
#: response's encoding nor be reflected to the caller).
NO_ECHO = {
    "invalid_choice": "This is not one of the allowed values.",
    "does_not_exist": "No such object.",
    "incorrect_type": "This value has the wrong type.",
}


def _field_name(name: object) -> str:
    """A field name as it may go back into an error: names are input (an unknown
    field's especially), so anything unprintable is escaped and long ones cut.
    A list's errors are keyed by position (an int)."""
    name = str(name)
    shown = name if name.isprintable() else name.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= 64 else shown[:63] + "…"


def _field_errors(detail: Any, codes: Any) -> Any:
    if isinstance(detail, dict):
        return {_field_name(key): _field_errors(value, codes[key]) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_field_errors(item, code) for item, code in zip(detail, codes, strict=False)]
    return {"code": codes, "detail": NO_ECHO.get(codes, str(detail))}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Normalise Django's own exceptions first, so every branch below sees DRF's.
    if isinstance(exc, Refusal):
        exc = RefusalError(exc)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        codes = exc.get_codes()
        if isinstance(codes, dict | list):
            body = error_body(
                "invalid", "The request is not valid.", errors=_field_errors(exc.detail, codes)
            )
        else:
            body = error_body(str(codes), str(exc.detail))
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        body = error_body(codes if isinstance(codes, str) else "error", str(exc.detail))
    else:  # pragma: no cover - DRF only answers for APIException subclasses
        body = error_body("error", "The request failed.")
    response.data = body
    return response
