"""Liveness, readiness, and JSON error pages for the API's own paths."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found, server_error

from ony.api.errors import error_body


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up (no dependency is checked)."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Whether this node can serve: 503 without its database; 200 otherwise.

    Without the shared cache (Redis) a node still serves (``ony.cache`` counts
    in the process, waiters re-read the database), so a load balancer must not
    take every node out while Redis restarts: it answers 200 with ``status:
    degraded`` and names the cache.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "unavailable", "failed": ["database"]}, status=503)
    try:
        cache.set("ony:readyz", "1", timeout=5)
        cache_ok = cache.get("ony:readyz") == "1"
    except Exception:
        cache_ok = False
    if not cache_ok:
        return JsonResponse({"status": "degraded", "failed": ["cache"]})
    return JsonResponse({"status": "ok"})


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return page_not_found(request, exception)


def server_failed(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("server_error", "The server failed."), status=500)
    return server_error(request)
