"""Pages of the violations part of issue 15 (under /monitoring/, namespace ``monitor``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring.web import violations

urlpatterns: list[URLPattern | URLResolver] = [
    path("violations/", violations.violations_page, name="violations"),
    path(
        "violations/<int:violation_id>/acknowledge/",
        violations.violation_acknowledge_view,
        name="violation-acknowledge",
    ),
    path(
        "violations/<int:violation_id>/dismiss/",
        violations.violation_dismiss_view,
        name="violation-dismiss",
    ),
    path(
        "violations/<int:violation_id>/escalate/",
        violations.violation_escalate_view,
        name="violation-escalate",
    ),
    path(
        "violations/<int:violation_id>/allow/",
        violations.violation_allow_view,
        name="violation-allow",
    ),
]
