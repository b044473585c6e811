"""Public audit endpoints."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import signing


class PublicKeyOutput(serializers.Serializer):
    algorithm = serializers.ChoiceField(["ed25519"])
    public_key = serializers.CharField(help_text="32 bytes, base64.")
    signed_prefix = serializers.CharField()


class PublicKeyApi(APIView):
    """``GET /api/v1/audit/public-key``: the key that verifies checkpoints (no login).

    A checkpoint note verifies when ``signature`` (base64) is an Ed25519
    signature by this key over ``b"ony-checkpoint-v1\\n"`` followed by the
    canonical JSON of the note without ``signature``.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="The key that verifies audit checkpoints", responses={200: PublicKeyOutput}
    )
    def get(self, request: Request) -> Response:
        key = {
            "algorithm": "ed25519",
            "public_key": signing.public_key_b64(),
            "signed_prefix": signing.DOMAIN.decode(),
        }
        return Response(PublicKeyOutput(key).data)
