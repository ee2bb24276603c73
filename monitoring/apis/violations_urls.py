"""REST endpoints of the violations part of issue 15 (under /api/v1/monitoring/, namespace
``monitor_api``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
