"""The API's JSON parser: a size limit and a nesting limit, checked before anything else."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class TooDeep(exceptions.ParseError):
    default_detail = "The JSON is nested too deeply."
    default_code = "too_deep"


#: The deepest nesting of arrays and objects a body may have; Ony's own
#: bodies are two levels deep.
MAX_DEPTH = 16


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects deeper than ``limit`` (iteratively)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    """JSON, refusing bodies over ``max_bytes`` (413) before parsing them, or nested too deeply.

    Deep nesting is refused (400 ``too_deep``) whether Python's decoder would
    give up on it (``RecursionError``) or not.
    """

    max_bytes = 128 * 1024

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = stream.read(self.max_bytes + 1) if stream is not None else b""
        if len(body) > self.max_bytes:
            raise RequestTooLarge()
        try:
            data = super().parse(BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise TooDeep() from None
        if depth_exceeds(data, MAX_DEPTH):
            raise TooDeep()
        return data
