"""``GET /api/v1/export``: an organization's data, for its admins (docs/data.md)."""

from __future__ import annotations

from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from lifecycle import export
from ony.api.authentication import PersonalTokenAuthentication, VerifiedSessionAuthentication
from ony.api.schema import MEMBER_AUTH, errors


class ExportInput(serializers.Serializer):
    org = serializers.SlugField(max_length=50, help_text="The organization's slug.")
    payloads = serializers.BooleanField(
        default=False, help_text="Include payloads that are still retained."
    )


class ExportOutput(serializers.Serializer):
    """The export document (``ony-export-v1``); docs/data.md describes each part."""

    format = serializers.CharField()
    exported_at = serializers.DateTimeField()
    organization = serializers.DictField()
    members = serializers.ListField(child=serializers.DictField())
    devices = serializers.ListField(child=serializers.DictField())
    handoffs = serializers.ListField(child=serializers.DictField())
    call_attempts = serializers.ListField(child=serializers.DictField())
    chat_messages = serializers.ListField(child=serializers.DictField())
    audit = serializers.DictField(help_text="org, checkpoint_public_key, entries, checkpoints.")


class ExportApi(APIView):
    """Org admins (session or personal API token) download their organization's data.

    Streamed, in constant memory; each export is audited (``export.created``).
    Members and viewers of the org get 403, anyone else 404.
    """

    authentication_classes = [PersonalTokenAuthentication, VerifiedSessionAuthentication]

    @extend_schema(
        summary="Export an organization's data (org admins)",
        parameters=[
            OpenApiParameter("org", str, required=True, description="The organization's slug."),
            OpenApiParameter("payloads", bool, description="Include retained payloads."),
        ],
        responses={
            200: OpenApiResponse(ExportOutput, description="The export, as an attachment."),
            **errors(MEMBER_AUTH, _400="invalid", _403="not_an_admin", _404="not_found"),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        params = ExportInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        org, chunks = export.for_person(
            request.user, params.validated_data["org"], payloads=params.validated_data["payloads"]
        )
        return attachment(chunks, org.slug)


def attachment(chunks: Iterator[str], slug: str) -> StreamingHttpResponse:
    """The export as a download named after the org and the day."""
    response = StreamingHttpResponse(chunks, content_type="application/json; charset=utf-8")
    name = f"ony-export-{slug}-{timezone.now():%Y%m%d-%H%M%S}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
