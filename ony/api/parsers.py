"""A JSON parser with a size limit, for endpoints agents call on every action."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class BoundedJSONParser(JSONParser):
    """JSON, refusing bodies over ``max_bytes`` (413) before parsing them."""

    max_bytes = 128 * 1024

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = stream.read(self.max_bytes + 1) if stream is not None else b""
        if len(body) > self.max_bytes:
            raise RequestTooLarge()
        return super().parse(BytesIO(body), media_type, parser_context)
