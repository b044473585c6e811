"""OpenAPI pieces shared by every endpoint: authentication schemes and the error shape."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, snake_case: for programs.")
    detail = serializers.CharField(help_text="For people.")
    errors = serializers.JSONField(
        required=False, help_text="Validation errors by field: [{code, detail}]."
    )


def errors(**by_status: str) -> dict[int, OpenApiResponse]:
    """``errors(_400="invalid, parse_error")`` -> error responses naming their codes."""
    return {
        int(status.lstrip("_")): OpenApiResponse(ErrorSerializer, description=f"code: {codes}")
        for status, codes in by_status.items()
    }


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "devices.authentication.DeviceTokenAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A device's token from POST /api/v1/enroll.",
        }


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "ony.api.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A member's personal API token: `Token <token>`.",
        }


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    target_class = "ony.api.authentication.VerifiedSessionAuthentication"
    name = "dashboardSession"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The dashboard session, after a login with a TOTP code.",
        }
