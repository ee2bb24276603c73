"""The queue's "after the cursor" filter as one row comparison (``queue_keys.RowAfter``): the
same rows as the nested OR it replaces for every cursor — ties in the due time, a cursor on
a case or on a conversation, each direction — and a statement the index can bound (issue 18)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inbox.models import Conversation
from inbox.selectors.queue_keys import (
    CASE,
    CONVERSATION,
    Const,
    _nested_after,
    after_cursor,
    parts_of_shape,
    parts_shape,
)
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def tied(world):
    """Six conversations, their queue keys in three ties of two."""
    base = timezone.now() - timedelta(hours=3)
    rows = []
    for i in range(6):
        c = conversation_with_messages(world.shop_a1)
        Conversation.objects.filter(id=c.id).update(
            queue_key=base + timedelta(minutes=i // 2),
            last_message_at=base + timedelta(minutes=i // 2),
        )
        rows.append(Conversation.objects.get(id=c.id))
    return rows


def _ids(condition) -> list[int]:
    qs = Conversation.objects.order_by("id")
    if condition is False:
        return []
    if condition is not True:
        qs = qs.filter(condition)
    return list(qs.values_list("id", flat=True))


@pytest.mark.parametrize("cursor_kind", [CASE, CONVERSATION])
@pytest.mark.parametrize("desc", [False, True])
def test_every_cursor_gives_the_rows_the_nested_form_gives(tied, cursor_kind, desc):
    for row in tied:
        for cursor_id in (row.id - 1, row.id, row.id + 1):
            parts = [
                ("queue_key", desc, row.queue_key),
                (Const(CONVERSATION), False, cursor_kind),
                ("id", desc, cursor_id),
            ]
            expected = _ids(_nested_after(parts))
            # And as the order itself says: rows whose (key, type, id) comes after the cursor
            sign = -1 if desc else 1
            by_hand = sorted(
                c.id
                for c in tied
                if (sign * c.queue_key.timestamp(), CONVERSATION, sign * c.id)
                > (sign * row.queue_key.timestamp(), cursor_kind, sign * cursor_id)
            )
            assert _ids(after_cursor(parts)) == expected == by_hand


def test_the_priority_sort_mixes_directions_and_keeps_the_nested_form(tied):
    row = tied[2]
    parts = [
        ("priority", True, 1),
        ("queue_key", False, row.queue_key),
        (Const(CONVERSATION), False, CONVERSATION),
        ("id", False, row.id),
    ]
    with CaptureQueriesContext(connection) as captured:
        assert _ids(after_cursor(parts)) == _ids(_nested_after(parts))
    assert " OR " in captured.captured_queries[0]["sql"]


def test_a_later_page_bounds_the_queue_index_with_one_row_comparison(world, tied, api):
    agent = api.as_user(world.agent_a1)
    first = agent.get("/api/v1/queue/?kind=conversations&page_size=2").json()
    with CaptureQueriesContext(connection) as captured:
        second = agent.get(first["next"].split("testserver", 1)[1]).json()
    rows_sql = [
        q["sql"] for q in captured.captured_queries if '"inbox_conversation"."id" AS' in q["sql"]
    ]
    assert (
        rows_sql
        and '("inbox_conversation"."queue_key", "inbox_conversation"."id") >' in (rows_sql[0])
    )
    ids = [r["conversation"]["id"] for r in first["results"] + second["results"]]
    assert len(ids) == len(set(ids)) == 4


@pytest.mark.parametrize("cursor_kind", [CASE, CONVERSATION])
@pytest.mark.parametrize("desc", [False, True])
def test_a_cursors_shape_and_values_rebuild_the_same_filter(tied, cursor_kind, desc):
    # (what a statement compiled once per shape runs with each cursor's values)
    for row in tied:
        parts = [
            ("queue_key", desc, row.queue_key),
            (Const(CONVERSATION), False, cursor_kind),
            ("id", desc, row.id),
        ]
        shape, values = parts_shape(parts)
        rebuilt = parts_of_shape(shape, iter(values))
        assert _ids(after_cursor(rebuilt)) == _ids(after_cursor(parts))
        # a type that differs from the cursor's decides: the id after it is no value
        assert len(values) == (2 if cursor_kind == CONVERSATION else 1)


@pytest.mark.parametrize(
    "cursor",
    [f"1796459221143670.1.{10**20}", f"1796459221143670.{10**20}.5", "1.1.-99999999999999999999"],
)
def test_a_cursor_beyond_what_a_column_holds_is_a_clear_error(world, tied, api, cursor):
    agent = api.as_user(world.agent_a1)
    response = agent.get(f"/api/v1/queue/?cursor={cursor}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"
    # and the pages' own cursors still work
    assert agent.get("/api/v1/queue/?page_size=2").status_code == 200
