"""The sensitive-word monitor's, the violations' and the audit log's pages, under /monitoring/
(namespace ``monitor``); each part keeps its own list."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from monitoring.web import audit_urls, problems_urls, violations_urls, words_urls

app_name = "monitor"

urlpatterns: list[URLPattern | URLResolver] = [
    *words_urls.urlpatterns,
    *violations_urls.urlpatterns,
    *audit_urls.urlpatterns,
    *problems_urls.urlpatterns,
]
