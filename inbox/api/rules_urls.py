"""The after-sales rules API's routes, under /api/v1/ in the ``inbox_api`` namespace."""

from django.urls import path

from inbox.api import rules

urlpatterns = [
    path("after-sales-rules/", rules.RuleList.as_view(), name="rule-list"),
    path("after-sales-rules/<int:pk>/", rules.RuleDetail.as_view(), name="rule-detail"),
    path(
        "after-sales-rules/<int:pk>/dry-run/",
        rules.RuleDryRunView.as_view(),
        name="rule-dry-run",
    ),
    path("after-sales-rules/<int:pk>/enable/", rules.RuleEnable.as_view(), name="rule-enable"),
    path("after-sales-rules/<int:pk>/disable/", rules.RuleDisable.as_view(), name="rule-disable"),
    path(
        "after-sales-rules/<int:pk>/applications/",
        rules.RuleApplicationList.as_view(),
        name="rule-applications",
    ),
    path("compensations/", rules.CompensationList.as_view(), name="compensation-list"),
    path("compensations/<int:pk>/", rules.CompensationDetail.as_view(), name="compensation-detail"),
    path(
        "after-sales/<int:pk>/compensations/",
        rules.CaseCompensations.as_view(),
        name="case-compensations",
    ),
]
