"""The agent-facing device endpoints: enroll, who am I, the latest audit checkpoint."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from audit import selectors as audit_selectors
from audit import signing
from devices import services
from devices.authentication import DeviceTokenAuthentication, IsDevice, calling_device
from ony.api.output import renderer
from ony.api.schema import errors
from ony.api.validation import StrictSerializer, validated
from ony.cache import SharedCache


class EnrollThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, counting in this process while Redis is down (``ony.cache``)."""

    cache = SharedCache()  # type: ignore[assignment] # DRF uses its get and set only


class EnrollInput(StrictSerializer):
    token = serializers.CharField(max_length=200)
    name = serializers.CharField(max_length=100, required=False, default="device")


class EnrollOutput(serializers.Serializer):
    """A new device's credentials (``services.Enrolled``): the secrets are shown this once."""

    device_id = serializers.CharField(source="device.public_id")
    device_token = serializers.CharField(help_text="Shown once.")
    decision_key = serializers.CharField(help_text="32 bytes, base64url; shown once.")
    org = serializers.CharField(source="device.org.public_id")
    org_slug = serializers.CharField(source="device.org.slug")
    audit_public_key = serializers.SerializerMethodField()

    def get_audit_public_key(self, enrolled: services.Enrolled) -> str:
        """The key that verifies the org's audit checkpoints (base64)."""
        return signing.public_key_b64()


DEVICE_STATUSES = [("active", "active"), ("frozen", "frozen"), ("revoked", "revoked")]


class DeviceOutput(serializers.Serializer):
    device_id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    org = serializers.CharField(source="org.public_id")
    org_slug = serializers.CharField(source="org.slug")
    status = serializers.ChoiceField(DEVICE_STATUSES)


class CheckpointOutput(serializers.Serializer):
    """A signed checkpoint note, version ``v`` 1 (docs/audit.md).

    Verify it with the key of ``GET /api/v1/audit/public-key``; ``at`` is when
    it was signed (RFC 3339, UTC).
    """

    v = serializers.IntegerField()
    org = serializers.CharField(help_text="The organization's public id (org_...).")
    seq = serializers.IntegerField(help_text="The chain's length at the checkpoint.")
    hash = serializers.CharField(help_text="The hash of entry ``seq``, hex.")
    at = serializers.CharField()
    signature = serializers.CharField(help_text="Ed25519 over the note without it, base64.")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """The stored note exactly as signed: re-rendering it field by field could
        reorder or drop what the signature covers."""
        return dict(instance)


render_checkpoint = renderer(CheckpointOutput)

#: What a device's bearer authentication may refuse.
DEVICE_AUTH = {401: "not_authenticated, invalid_device_token, device_revoked", 403: "device_frozen"}


class EnrollApi(APIView):
    """``POST /api/v1/enroll``: an enrollment token in, the device's credentials out (once)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [EnrollThrottle]
    throttle_scope = "enroll"

    @extend_schema(
        summary="Enroll a device",
        request=EnrollInput,
        responses={
            201: EnrollOutput,
            **errors(
                _400="invalid, parse_error, too_deep, invalid_name, enrollment_token_invalid, "
                "enrollment_token_used, enrollment_token_expired",
                _415="unsupported_media_type",
                _429="throttled",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        enrolled = services.enroll(**validated(EnrollInput, request))
        return Response(EnrollOutput(enrolled).data, status=status.HTTP_201_CREATED)


class DeviceApi(APIView):
    """``GET /api/v1/device``: the calling device, as the server knows it."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]

    @extend_schema(
        summary="The calling device", responses={200: DeviceOutput, **errors(DEVICE_AUTH)}
    )
    def get(self, request: Request) -> Response:
        return Response(DeviceOutput(calling_device(request)).data)


class CheckpointApi(APIView):
    """``GET /api/v1/audit/checkpoint``: the latest signed checkpoint of the device's org."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]

    @extend_schema(
        summary="The latest signed checkpoint of the device's organization",
        responses={200: CheckpointOutput, **errors(DEVICE_AUTH, _404="no_checkpoint")},
    )
    def get(self, request: Request) -> Response:
        latest = audit_selectors.latest_checkpoint(calling_device(request).org)
        if latest is None:
            raise exceptions.NotFound("No checkpoint yet.", code="no_checkpoint")
        return Response(render_checkpoint(latest.as_note()))
