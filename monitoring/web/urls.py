"""monitoring's pages, under /sla/ (namespace ``sla``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "sla"

urlpatterns: list[URLPattern | URLResolver] = []
