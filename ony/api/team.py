"""The team view: a member's organizations and who is in them (phones masked)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ony import selectors
from ony.api.schema import errors
from ony.models import Organization


class OrganizationOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    slug = serializers.CharField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    role = serializers.SerializerMethodField()

    def get_role(self, org: Organization) -> str | None:
        return self.context["roles"].get(org.pk)


class MemberOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.full_name")
    role = serializers.CharField()
    phone = serializers.CharField(source="masked_phone")
    oncall_order = serializers.IntegerField(allow_null=True)


class OrganizationListOutput(serializers.Serializer):
    results = OrganizationOutput(many=True)


class MemberListOutput(serializers.Serializer):
    results = MemberOutput(many=True)


class OrganizationListApi(APIView):
    """``GET /api/v1/orgs``: the organizations the caller belongs to, with their role."""

    @extend_schema(
        summary="My organizations",
        responses={
            200: OrganizationListOutput,
            **errors(_403="not_authenticated"),
        },
    )
    def get(self, request: Request) -> Response:
        orgs = selectors.organizations_of(request.user)
        context = {"roles": selectors.roles_of(request.user)}
        return Response(OrganizationListOutput({"results": orgs}, context=context).data)


class MemberListApi(APIView):
    """``GET /api/v1/orgs/{slug}/members``: the org's members; 404 outside the caller's orgs."""

    @extend_schema(
        summary="An organization's members (phones masked)",
        responses={
            200: MemberListOutput,
            **errors(_403="not_authenticated", _404="not_found"),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        members = selectors.members_of(request.user, slug)
        return Response(MemberListOutput({"results": members}).data)
