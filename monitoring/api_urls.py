"""monitoring's REST endpoints, under /api/v1/sla/ (namespace ``sla_api``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "sla_api"

urlpatterns: list[URLPattern | URLResolver] = []
