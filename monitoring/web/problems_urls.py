"""Pages of the problem log (issue 17; under /monitoring/, namespace ``monitor``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring.web import problems

urlpatterns: list[URLPattern | URLResolver] = [
    path("problems/", problems.problems_page, name="problems"),
    path("problems/<int:shop_account_id>/", problems.report_page, name="problems-report"),
    path(
        "problems/<int:shop_account_id>/export.csv",
        problems.report_export,
        name="problems-export",
    ),
]
