"""monitoring's REST endpoints, under /api/v1/sla/ (namespace ``sla_api``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring import api
from monitoring.apis import insights

app_name = "sla_api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("alerts/", api.AlertList.as_view(), name="alert-list"),
    path("alerts/unread-count/", api.AlertUnreadCount.as_view(), name="alert-unread-count"),
    path("alerts/read-all/", api.AlertReadAll.as_view(), name="alert-read-all"),
    path("alerts/<int:pk>/read/", api.AlertRead.as_view(), name="alert-read"),
    # The shop-score figures and readiness panel (issue 17)
    path("insights/", insights.InsightsList.as_view(), name="insights"),
    path("insights/<int:shop_account_id>/", insights.InsightsShop.as_view(), name="insights-shop"),
]
