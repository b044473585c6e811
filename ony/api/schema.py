"""OpenAPI pieces shared by every endpoint: authentication schemes and the error shape."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)
from drf_spectacular.utils import OpenApiResponse

from ony.api.errors import ErrorSerializer

#: What a member's authentication may refuse (personal token or dashboard session).
MEMBER_AUTH = {401: "not_authenticated, invalid_api_token", 403: "permission_denied"}


def errors(*auth: dict[int, str], **by_status: str) -> dict[int, OpenApiResponse]:
    """Error responses naming their codes: ``errors(MEMBER_AUTH, _400="invalid, parse_error")``.

    ``auth`` are the refusals of the endpoint's authentication (``MEMBER_AUTH``,
    ``devices.api.DEVICE_AUTH``); each ``_NNN`` lists the endpoint's own codes
    for status NNN, after those.
    """
    codes: dict[int, list[str]] = {}
    for refusals in (*auth, {int(name.lstrip("_")): text for name, text in by_status.items()}):
        for status, text in refusals.items():
            listed = codes.setdefault(status, [])
            listed += [code for code in split_codes(text) if code not in listed]
    return {
        status: OpenApiResponse(ErrorSerializer, description=f"code: {', '.join(listed)}")
        for status, listed in sorted(codes.items())
    }


def split_codes(text: str) -> list[str]:
    """The codes in ``text``: ``"invalid (fields: a, b), parse_error"`` has two."""
    return [code.strip() for code in re.split(r",\s*(?![^()]*\))", text) if code.strip()]


#: What the request checks before every view refuse (``ony.middleware``), on any path.
REFUSED_BEFORE_ANY_VIEW = "invalid_characters"


def document_refused_characters(result: dict, **kwargs: object) -> dict:
    """drf-spectacular post-processing: every operation lists 400 ``invalid_characters``.

    ``ony.middleware.refuse_nul_characters`` answers so for a NUL character in
    the path or the query of any request, before the view is reached.
    """
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "400" in responses:
                if REFUSED_BEFORE_ANY_VIEW not in split_codes(responses["400"]["description"]):
                    responses["400"]["description"] += f", {REFUSED_BEFORE_ANY_VIEW}"
                continue
            error = {"$ref": "#/components/schemas/Error"}
            refused = {
                "content": {"application/json": {"schema": error}},
                "description": f"code: {REFUSED_BEFORE_ANY_VIEW}",
            }
            statuses = list(responses.items())
            at = next((i for i, (status, _) in enumerate(statuses) if status > "400"), None)
            statuses.insert(len(statuses) if at is None else at, ("400", refused))
            operation["responses"] = dict(statuses)
    return result


def close_response_objects(result: dict, **kwargs: object) -> dict:
    """drf-spectacular post-processing: no response object carries keys it does not list.

    True of every body Ony serves (they are rendered by these serializers),
    and what makes ``oneOf`` answers such as ``HandoffForCaller`` unambiguous.
    """
    components = result.get("components", {}).get("schemas", {})
    pending = [
        response.get("content", {}).get("application/json", {}).get("schema", {})
        for operations in result.get("paths", {}).values()
        for operation in operations.values()
        for response in operation.get("responses", {}).values()
    ]
    closed: set[str] = set()
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            ref = node.get("$ref", "")
            name = ref.rsplit("/", 1)[-1]
            if ref and name not in closed and name in components:
                closed.add(name)
                pending.append(components[name])
            if "properties" in node:
                node.setdefault("additionalProperties", False)
            pending.extend(value for key, value in node.items() if key != "$ref")
    return result


class ClosedInput(OpenApiSerializerExtension):
    """Request bodies are closed objects (``additionalProperties: false``).

    ``StrictSerializer``, which reads every JSON body, refuses a field it does
    not know (400 ``unknown_field``); the schema says so, for each input.
    """

    target_class = "ony.api.validation.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


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
