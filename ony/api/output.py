"""Shared pieces of the API's output serializers.

Every response body is rendered by the output serializer its OpenAPI schema
is generated from, so the documented and the served shapes cannot drift
(``tests/test_api_shapes.py`` compares them for every endpoint).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ony.connector.verdict import format_verdict_time


def renderer(serializer_class: type[serializers.Serializer]) -> Callable[[Any], dict[str, Any]]:
    """A function rendering objects through one instance of ``serializer_class``, built once.

    ``Serializer(obj).data`` deep-copies every declared field on each call
    (about 0.2 ms for a handoff, on the agent's hot path). DRF's fields keep no
    per-call state in ``to_representation``, so one bound instance renders any
    number of objects, from any thread. The contract for ``serializer_class``:
    it reads no ``context`` (there is none), and its fields, nested ones
    included, are bound here, once, before any request.
    """
    instance = serializer_class()
    _bind(instance)
    return instance.to_representation


def _bind(serializer: serializers.Serializer) -> None:
    """Bind ``serializer``'s fields and those of the serializers nested in it."""
    for field in serializer.fields.values():
        nested = getattr(field, "child", field)  # many=True wraps a serializer in ``child``
        if isinstance(nested, serializers.Serializer):
            _bind(nested)


@extend_schema_field(OpenApiTypes.DATETIME)
class UtcTimeField(serializers.Field):
    """An aware datetime as RFC 3339 in UTC, whole seconds, with ``Z`` (the verdicts' format)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: datetime) -> str:
        return format_verdict_time(value)


@extend_schema_field(OpenApiTypes.STR)
class BlankAsNullField(serializers.Field):
    """A text column where blank means "none": served as ``null`` rather than ``""``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value: str) -> str | None:
        return value or None
