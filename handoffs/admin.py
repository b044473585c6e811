"""Dashboard: the approvers' inbox (handoffs) and each handoff's page, where people decide."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from handoffs import sections, selectors, services
from handoffs.errors import HandoffError
from handoffs.models import Handoff, Status
from handoffs.taxonomy import Risk, describe_action
from ony.admin_base import ReadOnlyOrgAdmin
from ony.selectors import display_names

#: What each decision is called on the page.
DONE = {"approve": "Approved", "deny": "Denied"}


class PolicyDecidedFilter(admin.SimpleListFilter):
    """Hides what the policy decided at once (most of the volume) until asked to show it."""

    title = "policy decisions"
    parameter_name = "policy"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("shown", "Shown too"), ("only", "Only those")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Handoff]) -> QuerySet[Handoff]:
        if self.value() == "shown":
            return queryset
        if self.value() == "only":
            return queryset.filter(decided_via="policy")
        return queryset.exclude(decided_via="policy")

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Hidden",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    otp = forms.CharField(required=False, max_length=16, label="Authenticator code")

    def clean_otp(self) -> str:
        # Apps show codes as "123 456"; people type them that way.
        code = "".join(self.cleaned_data["otp"].split())
        if code and not (code.isascii() and code.isdigit() and len(code) == 6):
            raise forms.ValidationError("An authenticator code is 6 digits.", code="invalid_otp")
        return code


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyOrgAdmin[Handoff]):
    """Pending first, then newest; the page of each is where members decide it."""

    list_display = [
        "risk_badge",
        "request_summary",
        "device_name",
        "agent_session",
        "status_badge",
        "time_left",
        "decided",
    ]
    list_display_links = ["request_summary"]
    list_filter = [
        PolicyDecidedFilter,
        "status",
        "risk",
        ("device", admin.RelatedOnlyFieldListFilter),
        "decided_via",
    ]
    search_fields = ["public_id", "title", "target"]
    list_select_related = ["org", "device", "decided_by__user"]
    list_per_page = 50
    actions = None

    def get_ordering(self, request: HttpRequest) -> tuple[Any, ...]:
        pending_first = Case(
            When(status=Status.PENDING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return (pending_first.asc(), "-created_at")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        pending = self.get_queryset(request).filter(status=Status.PENDING)
        ids = sorted(pending.values_list("public_id", flat=True)[: selectors.PAGE_SIZE])
        extra_context = {
            **(extra_context or {}),
            "title": "Handoffs",
            "pending_count": pending.count(),
            "pending_ids": " ".join(ids),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="Risk", ordering="risk")
    def risk_badge(self, obj: Handoff) -> str:
        return risk_badge(obj.risk)

    @admin.display(description="Request", ordering="action")
    def request_summary(self, obj: Handoff) -> str:
        """Ony's facts (action and target), then the agent's title, quieter."""
        return format_html(
            '<code>{}</code> on <code class="ony-agent-text">{}</code>'
            '<span class="ony-agent-title ony-agent-text">{}</span>',
            obj.action,
            obj.target,
            obj.title,
        )

    @admin.display(description="Device", ordering="device__name")
    def device_name(self, obj: Handoff) -> str:
        return format_html('<span title="{}">{}</span>', obj.device.public_id, obj.device.name)

    @admin.display(description="Agent session", ordering="agent_session_id")
    def agent_session(self, obj: Handoff) -> str:
        return format_html('<code class="ony-session">{}</code>', obj.agent_session_id)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Handoff) -> str:
        return format_html('<span class="ony-status ony-status-{0}">{0}</span>', obj.status)

    @admin.display(description="Time left", ordering="deadline")
    def time_left(self, obj: Handoff) -> str:
        return countdown(obj)

    @admin.display(description="Decided")
    def decided(self, obj: Handoff) -> str:
        if not obj.decided_via:
            return "—"
        by = obj.decided_by.display_name if obj.decided_by else ""
        return f"{obj.decided_via} by {by}" if by else obj.decided_via

    def get_urls(self) -> list[Any]:
        by_request = path(
            "by-request/<str:request_id>/",
            self.admin_site.admin_view(self.by_request),
            name="handoffs_handoff_by_request",
        )
        return [by_request, *super().get_urls()]

    def by_request(self, request: HttpRequest, request_id: str) -> HttpResponse:
        """The page of handoff ``request_id`` (``req_...``), as the audit list links to it."""
        handoff = self.get_queryset(request).filter(public_id=request_id).first()
        if handoff is None:
            raise Http404("No such handoff.")
        return HttpResponseRedirect(reverse("admin:handoffs_handoff_change", args=[handoff.pk]))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The handoff's page; a POST is a member's decision."""
        handoff = self.get_object(request, unquote(object_id))
        if handoff is None or not self.has_view_permission(request, handoff):
            raise Http404("No such handoff.")
        handoff = services.expire_if_due(handoff)
        reader = selectors.reader_of(request.user, handoff)
        form = DecisionForm(request.POST or None)
        if request.method == "POST":
            if reader.may_decide and form.is_valid():
                decision = form.cleaned_data["decision"]
                try:
                    services.decide_as_member(
                        request.user,
                        handoff,
                        decision,
                        form.cleaned_data["otp"] or "",
                        via="dashboard",
                    )
                except HandoffError as refusal:
                    messages.error(request, refusal.detail)
                else:
                    messages.success(request, f"{DONE[decision]}. The agent's verdict is signed.")
                    return HttpResponseRedirect(request.path)
            elif not reader.may_decide:
                messages.error(request, "Your role may not decide handoffs.")
            else:
                messages.error(request, str(next(iter(form.errors.values()))[0]))
            handoff = Handoff.objects.get(pk=handoff.pk)
        return TemplateResponse(request, "admin/handoffs/handoff/page.html", {
            **self.admin_site.each_context(request),
            **self.page_context(handoff, reader),
            "form": form,
            "opts": self.model._meta,
        })  # fmt: skip

    def page_context(self, handoff: Handoff, reader: selectors.Reader) -> dict[str, Any]:
        trail = list(selectors.audit_trail(handoff))
        people = {entry.actor for entry in trail}
        if handoff.decided_by:
            people.add(handoff.decided_by.public_id)
        names = display_names(people, handoff.org_id)
        return {
            "title": handoff.title,
            "handoff": handoff,
            "reader": reader,
            "needs_otp": services.needs_otp(handoff),
            "action_description": describe_action(handoff.action),
            "hint_below": handoff.hint_mismatch,
            "risk_badge": risk_badge(handoff.risk),
            "countdown": countdown(handoff),
            "payload": handoff.payload if reader.may_read_payload else None,
            "trail": [{"entry": e, "name": names.get(e.actor, "")} for e in trail],
            "verdict_json": json.dumps(handoff.verdict, indent=2) if handoff.verdict else "",
            "decider": names.get(handoff.decided_by.public_id, "") if handoff.decided_by else "",
            "sections": sections.for_handoff(handoff),
        }


def risk_badge(risk: str) -> str:
    """A coloured badge: the server's risk, the one that counts."""
    known = risk if risk in {r.label for r in Risk} else "critical"
    return format_html('<span class="ony-risk ony-risk-{}">{}</span>', known, risk)


def countdown(handoff: Handoff) -> str:
    """Time left for a pending handoff, counted down in the page (``ony/live.js``)."""
    if handoff.status != Status.PENDING:
        return "—"
    left = max(0, int((handoff.deadline - timezone.now()).total_seconds()))
    return format_html(
        '<time class="ony-countdown" datetime="{}">{}</time>',
        handoff.deadline.isoformat(),
        f"{left // 60}:{left % 60:02d}",
    )
