"""REST endpoints of the audit part of issue 15 (under /api/v1/monitoring/, namespace
``monitor_api``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring.apis import audit

urlpatterns: list[URLPattern | URLResolver] = [
    path("audit/", audit.AuditEventList.as_view(), name="audit-list"),
    path("audit/export/", audit.AuditEventExport.as_view(), name="audit-export"),
]
