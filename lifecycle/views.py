"""The dashboard's pages for the data lifecycle: an organization's export."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods

from lifecycle import export
from lifecycle.api import attachment
from ony.refusal import Refusal


@require_http_methods(["GET", "POST"])
def export_page(request: HttpRequest, slug: str) -> HttpResponseBase:
    """GET: what an export holds, and a button; POST: the download (org admins only)."""
    try:
        if request.method == "POST":
            payloads = request.POST.get("payloads") == "on"
            org, chunks = export.for_person(request.user, slug, payloads=payloads)
            return attachment(chunks, org.slug)
        org = export.exportable_org(request.user, slug)
    except Refusal as refusal:
        raise PermissionDenied(refusal.detail) from None
    context = {
        **admin.site.each_context(request),
        "title": f"Export {org.name}'s data",
        "org": org,
    }
    return TemplateResponse(request, "admin/lifecycle/export.html", context)
