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
    (about 0.2 ms for a handoff, on the agent's hot path); the fields of an
    output serializer hold no per-object state, so one bound instance renders
    any number of objects, from any thread.
    """
    instance = serializer_class()
    instance.fields  # bind the fields now, not racing on the first request  # noqa: B018
    return instance.to_representation


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
