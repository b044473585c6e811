"""Agent and member API for handoffs."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.authentication import DeviceTokenAuthentication, IsDevice
from devices.models import Device
from handoffs import services, taxonomy
from handoffs.models import Handoff, Status
from handoffs.serializers import HandoffInput, handoff_body
from ony.api.authentication import VerifiedSessionAuthentication
from ony.api.errors import ServiceError
from ony.api.parsers import BoundedJSONParser
from ony.models import Organization


class TaxonomyApi(APIView):
    """``GET /api/v1/taxonomy``: every action with its risk, read-only.

    For a device, the risks of its organization (overrides applied); for a
    member, the base taxonomy, or with ``?org=SLUG`` that organization's risks
    (404 unless they belong to it).
    """

    authentication_classes = [DeviceTokenAuthentication, VerifiedSessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        org = None
        if isinstance(request.auth, Device):
            org = request.auth.org
        elif slug := request.query_params.get("org"):
            org = get_object_or_404(Organization.objects.for_user(request.user), slug=slug)
        overrides = org.risk_overrides if org else {}
        actions = [
            {
                "action": action.name,
                "category": action.category,
                "risk": taxonomy.effective_risk(action.name, overrides).label,
                "base_risk": action.risk.label,
                "description": action.description,
            }
            for action in taxonomy.ACTIONS.values()
        ]
        return Response(
            {
                "version": taxonomy.VERSION,
                "org": org.public_id if org else None,
                "unknown_action_risk": taxonomy.UNKNOWN_ACTION_RISK.label,
                "actions": actions,
            }
        )


class DeviceHandoffView(APIView):
    """Base of the agent's handoff endpoints: device bearer auth, bounded JSON bodies."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]
    parser_classes = [BoundedJSONParser]

    def handoff(self, request: Request, request_id: str) -> Handoff:
        try:
            return services.for_device(request.auth, request_id)
        except services.HandoffError as exc:
            raise ServiceError(exc.code, exc.detail, exc.status) from None


class HandoffCreateApi(DeviceHandoffView):
    """``POST /api/v1/handoffs``: 201 with the new handoff; 200 for a repeated nonce."""

    def post(self, request: Request) -> Response:
        data = HandoffInput(data=request.data)
        data.is_valid(raise_exception=True)
        handoff, created = services.create(request.auth, **data.validated_data)
        return Response(handoff_body(handoff), status=201 if created else 200)


class HandoffDetailApi(DeviceHandoffView):
    """``GET /api/v1/handoffs/{request_id}``: the device's own handoff only."""

    def get(self, request: Request, request_id: str) -> Response:
        return Response(handoff_body(self.handoff(request, request_id)))


class HandoffCancelApi(DeviceHandoffView):
    """``POST /api/v1/handoffs/{request_id}/cancel``: the agent withdraws (409 once decided)."""

    def post(self, request: Request, request_id: str) -> Response:
        handoff = self.handoff(request, request_id)
        try:
            handoff = services.cancel(request.auth, handoff)
        except services.HandoffError as exc:
            raise ServiceError(exc.code, exc.detail, exc.status) from None
        return Response(handoff_body(handoff))


class HandoffVerdictApi(DeviceHandoffView):
    """``GET /api/v1/handoffs/{request_id}/verdict?wait=N``: 200 once decided, 202 while pending.

    Waits up to ``N`` seconds (0 to 30) and answers the moment a decision
    commits.
    """

    def get(self, request: Request, request_id: str) -> Response:
        raw = request.query_params.get("wait", "0")
        if not raw.isdigit() or int(raw) > services.MAX_WAIT_SECONDS:
            raise ServiceError("invalid_wait", "wait is a whole number of seconds, 0 to 30.")
        try:
            handoff = services.wait_for_verdict(request.auth, request_id, int(raw))
        except services.HandoffError as exc:
            raise ServiceError(exc.code, exc.detail, exc.status) from None
        pending = handoff.status == Status.PENDING
        return Response(handoff_body(handoff), status=202 if pending else 200)
