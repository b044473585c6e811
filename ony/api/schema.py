"""OpenAPI pieces shared by every endpoint: authentication schemes and the error shape."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, snake_case: for programs.")
    detail = serializers.CharField(help_text="For people.")
    # The error shape's key. DRF's metaclass moves declared fields out of the class
    # body, so at run time this never hides the Serializer.errors property.
    errors = serializers.JSONField(  # type: ignore[assignment]  # popped by DRF's metaclass
        required=False, help_text="Validation errors by field: [{code, detail}]."
    )


#: What a member's authentication may refuse (personal token or dashboard session).
MEMBER_AUTH = {401: "not_authenticated, invalid_api_token", 403: "permission_denied"}


def errors(*auth: dict[int, str], **by_status: str) -> dict[int, OpenApiResponse]:
    """Error responses naming their codes: ``errors(MEMBER_AUTH, _400="invalid, parse_error")``.

    ``auth`` are the refusals of the endpoint's authentication (``MEMBER_AUTH``,
    ``devices.api.DEVICE_AUTH``); each ``_NNN`` lists the endpoint's own codes
    for status NNN, after those.
    """
    codes: dict[int, str] = {}
    for refusals in (*auth, {int(name.lstrip("_")): text for name, text in by_status.items()}):
        for status, text in refusals.items():
            codes[status] = f"{codes[status]}, {text}" if status in codes else text
    return {
        status: OpenApiResponse(ErrorSerializer, description=f"code: {text}")
        for status, text in sorted(codes.items())
    }


def _document_scheme(target: str, name: str, definition: dict[str, str]) -> None:
    """Tell drf-spectacular how the schema describes authentication class ``target``.

    drf-spectacular finds extensions by subclassing, so this defines one.
    """

    def get_security_definition(self: object, auto_schema: object) -> dict[str, str]:
        return definition

    type(
        f"{name}Scheme",
        (OpenApiAuthenticationExtension,),
        {"target_class": target, "name": name, "get_security_definition": get_security_definition},
    )


_document_scheme(
    "devices.authentication.DeviceTokenAuthentication",
    "deviceToken",
    {
        "type": "http",
        "scheme": "bearer",
        "description": "A device's token from POST /api/v1/enroll.",
    },
)
_document_scheme(
    "ony.api.authentication.PersonalTokenAuthentication",
    "personalToken",
    {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "A member's personal API token: `Token <token>`.",
    },
)
_document_scheme(
    "ony.api.authentication.VerifiedSessionAuthentication",
    "dashboardSession",
    {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
        "description": "The dashboard session, after a login with a TOTP code.",
    },
)
