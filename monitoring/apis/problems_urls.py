"""REST endpoints of the problem log (issue 17; under /api/v1/monitoring/, namespace
``monitor_api``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring.apis import problems

urlpatterns: list[URLPattern | URLResolver] = [
    path("problems/suggest/", problems.ProblemSuggest.as_view(), name="problem-suggest"),
    path("problems/<int:pk>/", problems.ProblemDetail.as_view(), name="problem"),
    path(
        "problems/weekly/<int:shop_account_id>/",
        problems.WeeklyReportView.as_view(),
        name="problem-weekly",
    ),
]
