"""Pages of the words part of issue 15 (under /monitoring/, namespace ``monitor``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring.web import words

urlpatterns: list[URLPattern | URLResolver] = [
    path("words/", words.words_list_page, name="words"),
    path("words/export.csv", words.words_export, name="words-export"),
]
