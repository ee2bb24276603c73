"""Pages of the audit part of issue 15 (under /monitoring/, namespace ``monitor``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring.web import audit, audit_behaviour

urlpatterns: list[URLPattern | URLResolver] = [
    path("audit/", audit.audit_log_page, name="audit"),
    path("audit/export.csv", audit.audit_log_csv, name="audit-csv"),
    path("behaviour/", audit_behaviour.behaviour_page, name="behaviour"),
]
