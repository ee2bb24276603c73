"""monitoring's pages, under /sla/ (namespace ``sla``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring.web import risk

app_name = "sla"

urlpatterns: list[URLPattern | URLResolver] = [
    path("risk/", risk.risk_page, name="risk"),
]
