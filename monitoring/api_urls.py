"""monitoring's REST endpoints, under /api/v1/sla/ (namespace ``sla_api``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring import api

app_name = "sla_api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("alerts/", api.AlertList.as_view(), name="alert-list"),
    path("alerts/unread-count/", api.AlertUnreadCount.as_view(), name="alert-unread-count"),
    path("alerts/read-all/", api.AlertReadAll.as_view(), name="alert-read-all"),
    path("alerts/<int:pk>/read/", api.AlertRead.as_view(), name="alert-read"),
]
