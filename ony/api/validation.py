"""Request input through an input serializer."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.request import Request


# Every JSON body the API takes is read by one of these, and the OpenAPI schema
# says so (``additionalProperties: false``, ``ony.api.schema``): a misspelt
# field is an error, never silently dropped. (The docstring is the schema's
# description of each input.)
class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (``unknown_field``) instead of ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise ValidationError(
                    {
                        name: [ErrorDetail("Unknown field.", code="unknown_field")]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


def validated(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """``request``'s body checked by ``serializer_class``; a 400 in the API's format otherwise."""
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)
