"""Dashboard: the audit chain, read-only, and a page that verifies it entry by entry."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import CharField, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from audit.chain import show_hash
from audit.models import AuditEntry, Checkpoint
from audit.verification import verify_org
from ony.admin_base import ReadOnlyOrgAdmin
from ony.models import Membership, Organization, User
from ony.models.tenancy import org_ids_for

ENTRIES_PER_PAGE = 50


#: Events whose data says how a handoff ended.
OUTCOMES = frozenset({"handoff.decided", "handoff.expired", "handoff.cancelled"})


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyOrgAdmin[AuditEntry]):
    """The chain, readable: names beside pseudonyms (for display only), decisions, links."""

    list_display = ["seq", "org", "event", "who", "outcome", "about", "when", "short_hash"]
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        # The person behind a pseudonym, looked up for display only (the chain
        # keeps the pseudonym): a member of the entry's own org, or an operator.
        member = Membership.objects.filter(public_id=OuterRef("actor"), org=OuterRef("org"))
        operator = User.objects.filter(public_id=OuterRef("actor"))
        text = CharField()

        def name(prefix: str) -> Coalesce:
            full_name = NullIf(F(f"{prefix}full_name"), Value(""))
            return Coalesce(full_name, F(f"{prefix}email"), output_field=text)

        return (
            super()
            .get_queryset(request)
            .annotate(
                actor_name=Coalesce(
                    Subquery(member.annotate(name=name("user__")).values("name")[:1]),
                    Subquery(operator.annotate(name=name("")).values("name")[:1]),
                    output_field=text,
                )
            )
        )

    @admin.display(description="Who", ordering="actor")
    def who(self, obj: AuditEntry) -> str:
        name = getattr(obj, "actor_name", None)
        if not name:
            return obj.actor
        return format_html('{} <span class="ony-meta">{}</span>', name, obj.actor)

    @admin.display(description="Outcome")
    def outcome(self, obj: AuditEntry) -> str:
        if obj.event not in OUTCOMES:
            return ""
        data = obj.data
        return f"{data.get('decision', '')} via {data.get('decided_via', '')}"

    @admin.display(description="About", ordering="subject")
    def about(self, obj: AuditEntry) -> str:
        if obj.subject.startswith("req_"):
            try:
                url = reverse("admin:handoffs_handoff_by_request", args=[obj.subject])
            except NoReverseMatch:
                return obj.subject
            return format_html('<a href="{}">{}</a>', url, obj.subject)
        return obj.subject

    @admin.display(description="When", ordering="created_at")
    def when(self, obj: AuditEntry) -> str:
        """Compact (the list must fit a laptop's width): the date, then the time."""
        at = timezone.localtime(obj.created_at)
        return format_html(
            '<time datetime="{}">{} <span class="ony-nowrap">{}</span></time>',
            at.isoformat(),
            f"{at:%Y-%m-%d}",
            f"{at:%H:%M:%S}",
        )

    def get_list_display(self, request: HttpRequest) -> Any:
        # The org column only tells apart the orgs of someone who sees several.
        if request.user.is_superuser or len(org_ids_for(request.user)) > 1:
            return self.list_display
        return [column for column in self.list_display if column != "org"]

    @admin.display(description="Hash")
    def short_hash(self, obj: AuditEntry) -> str:
        full = obj.hash_hex
        return format_html('<code class="ony-hash" title="{}">{}…</code>', full, full[:10])

    @admin.display(description="Prev")
    def prev(self, obj: AuditEntry) -> str:
        return obj.prev_hash_display

    def get_urls(self) -> list:
        verify = path("verify/", self.admin_site.admin_view(self.verify_view), name="audit_verify")
        return [verify, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "title": "Audit entries",
            "verify_url": reverse("admin:audit_verify"),
        }
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
    prev = show_hash(bytes(entry.prev_hash))
    return {
        "entry": entry,
        "prev": prev,
        "prev_short": prev if prev == "genesis" else prev[:12] + "…",
        "hash": bytes(entry.hash).hex(),
        "hash_short": bytes(entry.hash).hex()[:12] + "…",
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
