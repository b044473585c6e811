from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from audit.api import PublicKeyApi
from devices.api import CheckpointApi, DeviceApi, EnrollApi
from handoffs.api import (
    HandoffCancelApi,
    HandoffDecisionApi,
    HandoffDetailApi,
    HandoffProgressApi,
    HandoffsApi,
    HandoffVerdictApi,
    TaxonomyApi,
)
from lifecycle import views as lifecycle_views
from lifecycle.api import ExportApi
from ony import dashboard, invitations, metrics_view, views
from ony.api import team

# Swagger UI's script is a file of its own (the split view), but it styles its
# elements inline: only this page lets inline styles through (never scripts).
api_docs = csp_replace({"style-src": [SELF, UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    # The site's root is the dashboard (it asks for a login first).
    path("", RedirectView.as_view(pattern_name="admin:index"), name="root"),
    # The dashboard's index (admin:index resolves here first) and its live panels.
    path("admin/", admin.site.admin_view(dashboard.index), name="dashboard"),
    path("admin/panels/", admin.site.admin_view(dashboard.panels), name="dashboard-panels"),
    path(
        "admin/ony/organization/<slug:slug>/export/",
        admin.site.admin_view(lifecycle_views.export_page),
        name="org-export",
    ),
    path("admin/", admin.site.urls),
    path("telephony/", include("telephony.urls")),
    path("chat/", include("chat.urls")),
    path("invite/<str:token>/", invitations.accept, name="invitation"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics_view.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/v1/orgs", team.OrganizationListApi.as_view(), name="api-orgs"),
    path("api/v1/export", ExportApi.as_view(), name="api-export"),
    path("api/v1/orgs/<slug:slug>/members", team.MemberListApi.as_view(), name="api-org-members"),
    path("api/v1/audit/public-key", PublicKeyApi.as_view(), name="api-audit-public-key"),
    path("api/v1/audit/checkpoint", CheckpointApi.as_view(), name="api-audit-checkpoint"),
    path("api/v1/enroll", EnrollApi.as_view(), name="api-enroll"),
    path("api/v1/device", DeviceApi.as_view(), name="api-device"),
    path("api/v1/taxonomy", TaxonomyApi.as_view(), name="api-taxonomy"),
    path("api/v1/handoffs", HandoffsApi.as_view(), name="api-handoffs"),
    path("api/v1/handoffs/<str:request_id>", HandoffDetailApi.as_view(), name="api-handoff"),
    path(
        "api/v1/handoffs/<str:request_id>/verdict",
        HandoffVerdictApi.as_view(),
        name="api-handoff-verdict",
    ),
    path(
        "api/v1/handoffs/<str:request_id>/decision",
        HandoffDecisionApi.as_view(),
        name="api-handoff-decision",
    ),
    path(
        "api/v1/handoffs/<str:request_id>/progress",
        HandoffProgressApi.as_view(),
        name="api-handoff-progress",
    ),
    path(
        "api/v1/handoffs/<str:request_id>/cancel",
        HandoffCancelApi.as_view(),
        name="api-handoff-cancel",
    ),
]

handler404 = "ony.views.not_found"
handler500 = "ony.views.server_failed"
