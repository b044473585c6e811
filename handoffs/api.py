"""Agent and member API for handoffs."""

from __future__ import annotations

import re

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.api import DEVICE_AUTH
from devices.authentication import DeviceTokenAuthentication, IsDevice, calling_device
from devices.models import Device
from handoffs import progress, selectors, services
from handoffs.models import Handoff, Status
from handoffs.serializers import (
    DecisionInput,
    HandoffInput,
    HandoffListOutput,
    HandoffOutput,
    MemberHandoffOutput,
    ProgressOutput,
    TaxonomyOutput,
    render_handoff,
    render_member_handoff,
    render_taxonomy,
)
from ony import selectors as org_selectors
from ony.api.authentication import PersonalTokenAuthentication, VerifiedSessionAuthentication
from ony.api.parsers import BoundedJSONParser
from ony.api.schema import MEMBER_AUTH, errors
from ony.api.validation import validated
from ony.models import User
from ony.refusal import Refusal

#: ``?wait=``: ASCII digits only (``str.isdigit`` takes "²" too, which ``int`` refuses).
WAIT = re.compile(r"[0-9]{1,2}")


#: What any handoff endpoint's authentication may refuse: each takes a device's
#: bearer token, a member's API token or a dashboard session, and then lets
#: only devices or only members through (403 ``permission_denied``).
CALLER_AUTH = (DEVICE_AUTH, MEMBER_AUTH)


class TaxonomyApi(APIView):
    """``GET /api/v1/taxonomy``: every action with its risk, read-only.

    For a device, the risks of its organization (overrides applied); for a
    member, the base taxonomy, or with ``?org=SLUG`` that organization's risks
    (404 unless they belong to it).
    """

    authentication_classes = [
        DeviceTokenAuthentication,
        PersonalTokenAuthentication,
        VerifiedSessionAuthentication,
    ]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="The action taxonomy",
        parameters=[OpenApiParameter("org", str, description="Members: one of your orgs' risks.")],
        responses={200: TaxonomyOutput, **errors(*CALLER_AUTH, _404="not_found")},
    )
    def get(self, request: Request) -> Response:
        org = None
        if isinstance(request.auth, Device):
            org = request.auth.org
        elif slug := request.query_params.get("org"):
            org = org_selectors.organization_of(request.user, slug)
        return Response(render_taxonomy(selectors.taxonomy_for(org)))


class IsMember(BasePermission):
    """A person (session or personal API token), not a device."""

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.user, User) and request.user.is_active


class HandoffView(APIView):
    """Base of the handoff endpoints: devices (bearer) and members (token or session)."""

    authentication_classes = [
        DeviceTokenAuthentication,
        PersonalTokenAuthentication,
        VerifiedSessionAuthentication,
    ]
    parser_classes = [BoundedJSONParser]
    device_methods: frozenset[str] = frozenset()
    member_methods: frozenset[str] = frozenset()

    def get_permissions(self) -> list:
        # HEAD runs the GET handler (DRF), so it gets GET's permissions.
        method = "GET" if self.request.method == "HEAD" else self.request.method
        if method in self.device_methods and isinstance(self.request.auth, Device):
            return [IsDevice()]
        if method in self.member_methods:
            return [IsMember()]
        return [IsDevice()]

    def handoff(self, request: Request, request_id: str) -> Handoff:
        if isinstance(request.auth, Device):
            return services.for_device(request.auth, request_id)
        return services.for_member(request.user, request_id)

    def body(self, request: Request, handoff: Handoff) -> dict:
        if isinstance(request.auth, Device):
            return render_handoff(handoff)
        return render_member_handoff(handoff)


class HandoffsApi(HandoffView):
    """``POST /api/v1/handoffs`` (devices): create; ``GET`` (members): their orgs' handoffs."""

    device_methods = frozenset({"POST"})
    member_methods = frozenset({"GET"})

    @extend_schema(
        summary="Create a handoff (device)",
        request=HandoffInput,
        responses={
            201: OpenApiResponse(
                HandoffOutput, description="Created: with its verdict when the policy decides."
            ),
            200: OpenApiResponse(HandoffOutput, description="The same nonce again."),
            **errors(
                *CALLER_AUTH,
                _400="invalid (fields: required, invalid, max_length, invalid_action, not_nfc, "
                "control_character, invalid_text, phone_number, unknown_field, invalid_choice), "
                "parse_error, too_deep",
                _413="request_too_large",
                _415="unsupported_media_type",
                _429="throttled",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        fields = validated(HandoffInput, request)
        handoff, created = services.create(calling_device(request), **fields)
        return Response(render_handoff(handoff), status=201 if created else 200)

    @extend_schema(
        operation_id="handoffs_list",
        summary="List my organizations' handoffs (member)",
        parameters=[
            OpenApiParameter("status", str, description="pending, approved, ..."),
            OpenApiParameter("org", str, description="An organization's slug."),
        ],
        responses={
            200: HandoffListOutput,
            **errors(*CALLER_AUTH, _400="invalid_status"),
        },
    )
    def get(self, request: Request) -> Response:
        handoffs = selectors.member_handoffs(
            request.user,
            status=request.query_params.get("status", ""),
            org_slug=request.query_params.get("org", ""),
        )
        return Response(HandoffListOutput({"results": handoffs}).data)


class HandoffDetailApi(HandoffView):
    """``GET /api/v1/handoffs/{request_id}``: a device its own; a member their orgs'."""

    device_methods = member_methods = frozenset({"GET"})

    @extend_schema(
        operation_id="handoffs_retrieve",
        summary="A handoff (the device's own, or a member's org's)",
        responses={
            200: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="HandoffForCaller",
                    serializers=[HandoffOutput, MemberHandoffOutput],
                    resource_type_field_name=None,
                ),
                description="A device gets HandoffOutput; a member MemberHandoffOutput.",
            ),
            **errors(*CALLER_AUTH, _404="not_found"),
        },
    )
    def get(self, request: Request, request_id: str) -> Response:
        return Response(self.body(request, self.handoff(request, request_id)))


class HandoffVerdictApi(HandoffView):
    """``GET /api/v1/handoffs/{request_id}/verdict?wait=N``: 200 once decided, 202 while pending.

    Waits up to ``N`` seconds (0 to 30) and answers the moment a decision
    commits.
    """

    device_methods = frozenset({"GET"})

    @extend_schema(
        summary="Wait for the verdict (device long-poll)",
        parameters=[
            OpenApiParameter(
                "wait",
                {"type": "integer", "minimum": 0, "maximum": services.MAX_WAIT_SECONDS},
                description="Seconds to wait, 0 to 30.",
            )
        ],
        responses={
            200: HandoffOutput,
            202: OpenApiResponse(HandoffOutput, description="Still pending."),
            **errors(*CALLER_AUTH, _400="invalid_wait", _404="not_found", _429="too_many_waits"),
        },
    )
    def get(self, request: Request, request_id: str) -> Response:
        raw = request.query_params.get("wait", "0")
        if not WAIT.fullmatch(raw) or int(raw) > services.MAX_WAIT_SECONDS:
            raise Refusal("invalid_wait", "wait is a whole number of seconds, 0 to 30.")
        handoff = services.wait_for_verdict(calling_device(request), request_id, int(raw))
        pending = handoff.status == Status.PENDING
        return Response(render_handoff(handoff), status=202 if pending else 200)


class HandoffProgressApi(HandoffView):
    """``GET /api/v1/handoffs/{request_id}/progress``: who can be reached, how far it got.

    For the person watching an agent wait (``ony request``, the hooks'
    stderr): which channels the handoff went to, how many approvers each can
    reach and how many calls or messages went out; nobody is named. A device
    reads its own handoffs', a member their organizations'.
    """

    device_methods = member_methods = frozenset({"GET"})

    @extend_schema(
        summary="Where a handoff stands on each channel",
        responses={200: ProgressOutput, **errors(*CALLER_AUTH, _404="not_found")},
    )
    def get(self, request: Request, request_id: str) -> Response:
        handoff = self.handoff(request, request_id)
        return Response(ProgressOutput(progress.for_handoff(handoff)).data)


class HandoffCancelApi(HandoffView):
    """``POST /api/v1/handoffs/{request_id}/cancel``: the agent withdraws (409 once decided)."""

    device_methods = frozenset({"POST"})

    @extend_schema(
        summary="Withdraw a pending handoff (device)",
        request=None,
        responses={
            200: HandoffOutput,
            **errors(*CALLER_AUTH, _404="not_found", _409="already_decided"),
        },
    )
    def post(self, request: Request, request_id: str) -> Response:
        handoff = services.cancel(calling_device(request), self.handoff(request, request_id))
        return Response(render_handoff(handoff))


class HandoffDecisionApi(HandoffView):
    """``POST /api/v1/handoffs/{request_id}/decision``: a member approves or denies.

    Approving a critical handoff, or one the org routes to phone plus TOTP,
    needs ``otp``, the member's current 6-digit code; a wrong code is audited
    (``otp.failed``) and never approves.
    """

    member_methods = frozenset({"POST"})

    @extend_schema(
        summary="Approve or deny (member)",
        request=DecisionInput,
        responses={
            200: OpenApiResponse(MemberHandoffOutput, description="Decided, with its verdict."),
            **errors(
                *CALLER_AUTH,
                _400="invalid, parse_error, too_deep, otp_required",
                _403="invalid_otp, otp_unavailable",
                _429="otp_throttled",
                _404="not_found",
                _409="already_decided",
            ),
        },
    )
    def post(self, request: Request, request_id: str) -> Response:
        decision = validated(DecisionInput, request)
        handoff = self.handoff(request, request_id)
        handoff = services.decide_as_member(request.user, handoff, **decision)
        return Response(render_member_handoff(handoff))
