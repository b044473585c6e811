"""``GET /metrics``: Prometheus exposition, behind an optional bearer token."""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from ony.api.errors import error_body


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.ONY_METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return JsonResponse(
                error_body("not_authenticated", "Send Authorization: Bearer <metrics token>."),
                status=401,
            )
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
