"""Agent and member API for handoffs."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.authentication import DeviceTokenAuthentication
from devices.models import Device
from handoffs import taxonomy
from ony.api.authentication import VerifiedSessionAuthentication
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
