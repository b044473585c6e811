"""Request input through an input serializer."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request


def validated(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """``request``'s body checked by ``serializer_class``; a 400 in the API's format otherwise."""
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)
