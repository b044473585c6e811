"""The API's JSON renderer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import JSONRenderer


class ASCIIJSONRenderer(JSONRenderer):
    ensure_ascii = True


class SafeJSONRenderer(JSONRenderer):
    """DRF's JSON in UTF-8; a body UTF-8 cannot carry (a lone surrogate that
    came in with the request) goes out with ``\\u`` escapes instead of failing."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return ASCIIJSONRenderer().render(data, accepted_media_type, renderer_context)
