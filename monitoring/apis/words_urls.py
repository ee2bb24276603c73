"""REST endpoints of the words part of issue 15 (under /api/v1/monitoring/, namespace
``monitor_api``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring.apis import words

urlpatterns: list[URLPattern | URLResolver] = [
    path("screen/", words.Screen.as_view(), name="screen"),
]
