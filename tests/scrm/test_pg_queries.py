"""psycopg's cache of parsed statements covers the queue's statements (scrm/pg_queries.py):
a warm queue request splits none of its statements at their placeholders again (psycopg's
own limits, 4 KB and 50 parameters, left the page's padded id lists of 64 out: each was
split again at every request)."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.inbox.builders import conversation_with_messages

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="psycopg's statement cache: PostgreSQL only",
    ),
]


def test_a_warm_queue_request_splits_no_statement_again(world, api, monkeypatch):
    from psycopg import _queries

    # Given a supervisor's queue of 40 conversations (a page's ids padded to 64 parameters)
    for _ in range(40):
        conversation_with_messages(world.shop_a1)
    client = api.as_user(world.supervisor_a)
    assert client.get("/api/v1/queue/").status_code == 200  # the first request compiles
    split: list[int] = []
    uncached = _queries._query2pg_client_nocache

    def spy(query: bytes, encoding: str):
        split.append(len(query))
        return uncached(query, encoding)

    monkeypatch.setattr(_queries, "_query2pg_client_nocache", spy)
    misses = _queries._query2pg_client.cache_info().misses
    # When the queue is asked for again
    response = client.get("/api/v1/queue/")
    # Then its rows come, and no statement of it was parsed again: none bypassed the cache,
    # none missed it
    assert response.status_code == 200
    assert len(response.json()["results"]) == 40
    assert split == []
    assert _queries._query2pg_client.cache_info().misses == misses
