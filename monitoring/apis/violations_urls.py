"""REST endpoints of the violations part of issue 15 (under /api/v1/monitoring/, namespace
``monitor_api``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring.apis import violations

urlpatterns: list[URLPattern | URLResolver] = [
    path("violations/", violations.ViolationList.as_view(), name="violation-list"),
    path("violations/<int:pk>/", violations.ViolationDetail.as_view(), name="violation-detail"),
    path(
        "violations/<int:pk>/acknowledge/",
        violations.ViolationAcknowledge.as_view(),
        name="violation-acknowledge",
    ),
    path(
        "violations/<int:pk>/dismiss/",
        violations.ViolationDismiss.as_view(),
        name="violation-dismiss",
    ),
    path(
        "violations/<int:pk>/escalate/",
        violations.ViolationEscalate.as_view(),
        name="violation-escalate",
    ),
]
