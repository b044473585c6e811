"""``GET /metrics``: Prometheus exposition, behind a bearer token outside DEBUG."""

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
    """Prometheus metrics: with ``ONY_METRICS_TOKEN`` set, to its bearer only; without one,
    open in DEBUG (a laptop demo) and off otherwise (404 ``metrics_off``)."""
    token = settings.ONY_METRICS_TOKEN
    if not token and not settings.DEBUG:
        return JsonResponse(
            error_body("metrics_off", "Metrics are off: set ONY_METRICS_TOKEN to serve them."),
            status=404,
        )
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return JsonResponse(
                error_body("not_authenticated", "Send Authorization: Bearer <metrics token>."),
                status=401,
            )
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
