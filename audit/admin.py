"""Dashboard: the audit chain, read-only, and a page that verifies it entry by entry."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from audit.chain import show_hash
from audit.models import AuditEntry, Checkpoint
from audit.verification import verify_org
from ony.admin_base import ReadOnlyOrgAdmin
from ony.models import Organization

ENTRIES_PER_PAGE = 50


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyOrgAdmin[AuditEntry]):
    list_display = ["seq", "org", "event", "actor", "subject", "created_at", "short_hash"]
    list_filter = [("org", admin.RelatedOnlyFieldListFilter), "event"]
    search_fields = ["subject", "actor"]
    list_select_related = ["org"]
    ordering = ["org", "-seq"]
    # A tuple, so that it also types as readonly_fields (names only).
    fields: ClassVar[tuple[str, ...]] = (
        "org",
        "seq",
        "event",
        "actor",
        "subject",
        "created_at",
        "key_id",
        "prev",
        "hash_hex",
        "canonical",
    )
    readonly_fields = fields
    actions = None

    @admin.display(description="Hash")
    def short_hash(self, obj: AuditEntry) -> str:
        return obj.hash_hex[:16]

    @admin.display(description="Prev")
    def prev(self, obj: AuditEntry) -> str:
        return obj.prev_hash_display

    def get_urls(self) -> list:
        verify = path("verify/", self.admin_site.admin_view(self.verify_view), name="audit_verify")
        return [verify, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "verify_url": reverse("admin:audit_verify")}
        return super().changelist_view(request, extra_context)

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        """Verify one org's chain and show a page of it, marking where it stops matching."""
        if not self.has_view_permission(request):
            raise Http404
        orgs = Organization.objects.for_user(request.user).order_by("name")
        slug = request.GET.get("org")
        org = orgs.filter(slug=slug).first() if slug else orgs.first()
        if org is None:
            raise Http404
        report = verify_org(org)
        entries = AuditEntry.objects.for_org(org).order_by("seq")
        paginator = Paginator(entries.only(*_SHOWN), ENTRIES_PER_PAGE)
        failure = report.result.failure
        default_page = paginator.num_pages
        if failure:
            before = entries.filter(seq__lt=failure.seq).count()
            default_page = before // ENTRIES_PER_PAGE + 1
        page = paginator.get_page(request.GET.get("page") or default_page)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Verify audit chain: {org}",
            "opts": self.model._meta,
            "orgs": orgs,
            "org": org,
            "report": report,
            "page": page,
            "rows": [_row(entry, report) for entry in page],
        }
        return TemplateResponse(request, "admin/audit/verify.html", context)


_SHOWN = ["seq", "event", "actor", "subject", "created_at", "prev_hash", "hash"]


def _row(entry: AuditEntry, report: Any) -> dict[str, Any]:
    failure = report.result.failure
    if failure is None or entry.seq < failure.seq:
        status = "verified"
    elif entry.seq == failure.seq:
        status = "failed"
    else:
        status = "unverified"
    return {
        "entry": entry,
        "prev": show_hash(bytes(entry.prev_hash)),
        "hash": bytes(entry.hash).hex(),
        "status": status,
    }


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyOrgAdmin[Checkpoint]):
    list_display = ["seq", "org", "created_at", "signature"]
    list_filter = [("org", admin.RelatedOnlyFieldListFilter)]
    # A tuple, so that it also types as readonly_fields (names only).
    fields: ClassVar[tuple[str, ...]] = ("org", "seq", "note", "signature", "created_at")
    readonly_fields = fields
    ordering = ["org", "-seq"]
    actions = None
