"""The baseline for bench/throughput.py: the agent API's stack doing one INSERT."""

from __future__ import annotations

import json

from django.db import connection
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.authentication import DeviceTokenAuthentication, IsDevice
from ony.api.parsers import BoundedJSONParser

TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS bench_baseline "
    "(id bigserial PRIMARY KEY, device_id bigint, body text)"
)


class BaselineApi(APIView):
    """Same authentication and parsing as POST /api/v1/handoffs; then one INSERT."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]
    parser_classes = [BoundedJSONParser]

    def post(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_baseline (device_id, body) VALUES (%s, %s)",
                [request.auth.pk, json.dumps(request.data)],
            )
        return Response({"ok": True}, status=201)
