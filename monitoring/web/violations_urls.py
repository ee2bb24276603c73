"""Pages of the violations part of issue 15 (under /monitoring/, namespace ``monitor``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
