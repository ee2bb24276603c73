"""REST endpoints under /api/v1/monitoring/ (namespace ``monitor_api``); each part keeps its
own list."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from monitoring.apis import audit_urls, problems_urls, violations_urls, words_urls

app_name = "monitor_api"

urlpatterns: list[URLPattern | URLResolver] = [
    *words_urls.urlpatterns,
    *violations_urls.urlpatterns,
    *audit_urls.urlpatterns,
    *problems_urls.urlpatterns,
]
