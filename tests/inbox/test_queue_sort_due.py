"""The queue sorted by SLA deadline (sort=due) and its "due today" view, in the selector and
over REST: conversations and cases in one order on ``sla_due_at``, keyset paged, rows without
an open deadline last, each user seeing only their shops' rows."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from inbox.selectors import QueueFilters
from inbox.selectors.queue import queue_page
from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision
from tests.inbox.sla_builders import deadline_on, deadlines_clear

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
DUE = QueueFilters(sort="due")


def labels(page) -> list[tuple[str, int]]:
    return [(row.kind, row.item.id) for row in page.rows]


def walk(user, filters=DUE, *, limit=2):
    seen, cursor = [], None
    for _ in range(50):
        page = queue_page(user, filters, cursor=cursor, limit=limit)
        seen += labels(page)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    raise AssertionError("the pages never end")


@pytest.fixture
def due_queue(world):
    """Shops a1 (US), a2 (UK), a3 (MY) of organisation A and b1 of B; deadlines interleaved
    across shops and types, one tie (a case and a conversation due at the same time)."""
    now = timezone.now().replace(microsecond=0)
    rows = {
        "chat_a1_3h": conversation_with_messages(world.shop_a1),
        "case_a2_1h": case_needing_decision(world.shop_a2),
        "chat_a3_overdue": conversation_with_messages(world.shop_a3),
        "case_a1_tie": case_needing_decision(world.shop_a1),
        "chat_a2_tie": conversation_with_messages(world.shop_a2),
        "chat_a1_none": conversation_with_messages(world.shop_a1, waited=40 * H),
        "case_a3_none": case_needing_decision(world.shop_a3, due_in=H),
        "chat_b1_2h": conversation_with_messages(world.shop_b1),
    }
    deadline_on(rows["chat_a1_3h"], now + 3 * H)
    deadline_on(rows["case_a2_1h"], now + H)
    deadline_on(rows["chat_a3_overdue"], now - 2 * H)
    deadline_on(rows["case_a1_tie"], now + 5 * H)
    deadline_on(rows["chat_a2_tie"], now + 5 * H)
    deadline_on(rows["chat_b1_2h"], now + 2 * H)
    deadlines_clear(rows["chat_a1_none"])
    deadlines_clear(rows["case_a3_none"])
    return rows


def key(row) -> tuple[str, int]:
    return ("case" if row._meta.model_name == "aftersalescase" else "conversation", row.id)


def test_due_orders_both_types_by_deadline_with_the_undated_last(world, due_queue):
    q = due_queue
    page = queue_page(world.supervisor_a, DUE, limit=50)
    assert labels(page) == [
        key(q["chat_a3_overdue"]),
        key(q["case_a2_1h"]),
        key(q["chat_a1_3h"]),
        key(q["case_a1_tie"]),  # on a tie the case first
        key(q["chat_a2_tie"]),
        key(q["case_a3_none"]),  # no open deadline: last (the sentinel), case before chat
        key(q["chat_a1_none"]),
    ]
    # the row shows its real deadline, or the stand-in when it has none
    shown = {(r.kind, r.item.id): r.due for r in page.rows}
    assert shown[key(q["case_a2_1h"])] == q["case_a2_1h"].sla_due_at
    assert shown[key(q["case_a3_none"])] == q["case_a3_none"].seller_deadline


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_due_pages_cover_every_row_once_in_order(world, due_queue, limit):
    whole = labels(queue_page(world.supervisor_a, DUE, limit=50))
    assert walk(world.supervisor_a, limit=limit) == whole
    assert len(set(whole)) == len(whole) == 7


def test_a_row_moving_between_pages_is_neither_repeated_nor_skipped_by_them(world, due_queue):
    first = queue_page(world.supervisor_a, DUE, limit=3)
    # an unseen row moves ahead of the cursor (its deadline now the earliest)
    deadline_on(due_queue["chat_a1_none"], timezone.now() - 10 * H)
    rest = walk_from(world.supervisor_a, first.next_cursor)
    assert not set(labels(first)) & set(rest)
    assert key(due_queue["chat_a1_none"]) not in rest  # before the cursor now
    assert key(due_queue["case_a3_none"]) in rest


def walk_from(user, cursor):
    seen = []
    while cursor:
        page = queue_page(user, DUE, cursor=cursor, limit=2)
        seen += labels(page)
        cursor = page.next_cursor
    return seen


def test_an_agent_sees_only_their_shops_rows_in_due_order(world, due_queue):
    assert walk(world.agent_b) == [key(due_queue["chat_b1_2h"])]
    assert walk(world.agent_a2) == [
        key(due_queue["chat_a3_overdue"]),
        key(due_queue["case_a2_1h"]),
        key(due_queue["chat_a2_tie"]),
        key(due_queue["case_a3_none"]),
    ]
    other = QueueFilters(sort="due", shop_account_ids=(world.shop_b1.id,))
    assert walk(world.agent_a1, other) == []


def _end_of_day(zone: str) -> datetime:
    tz = zoneinfo.ZoneInfo(zone)
    today = timezone.now().astimezone(tz).date()
    return datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)


def test_due_today_ends_at_midnight_in_the_viewers_own_zone(world, api):
    # Given two viewers of the same shop, one in Shanghai and one in Los Angeles: their days
    # end at different instants
    zones = {world.supervisor_a: "Asia/Shanghai", world.agent_a1: "America/Los_Angeles"}
    for user, zone in zones.items():
        user.member.time_zone = zone
        user.member.save()
    first_end, last_end = sorted(_end_of_day(z) for z in zones.values())
    overdue = conversation_with_messages(world.shop_a1)
    deadline_on(overdue, timezone.now() - H)
    before_both = case_needing_decision(world.shop_a1)
    deadline_on(before_both, first_end - timedelta(minutes=1))
    between = conversation_with_messages(world.shop_a1)
    deadline_on(between, first_end + timedelta(minutes=1))
    deadlines_clear(conversation_with_messages(world.shop_a1))  # none open: never due today
    later = conversation_with_messages(world.shop_a1)
    deadline_on(later, last_end + timedelta(minutes=1))
    for user, zone in zones.items():
        # When each asks for the rows due today
        client = api.as_user(user)
        body = client.get("/api/v1/queue/?due=today&sort=due").json()
        got = [(r["type"], r[r["type"]]["id"]) for r in body["results"]]
        # Then the rows due before the end of their own day, the overdue one included
        expected = [("conversation", overdue.id), ("case", before_both.id)]
        if _end_of_day(zone) == last_end:
            expected.append(("conversation", between.id))
        assert got == expected, zone
        chats = client.get("/api/v1/conversations/?due=today&sort=due").json()["results"]
        assert [r["id"] for r in chats] == [i for t, i in expected if t == "conversation"]


def test_sort_due_over_rest_pages_with_the_next_link(world, api, due_queue):
    client = api.as_user(world.supervisor_a)
    whole = client.get("/api/v1/queue/?sort=due&page_size=100").json()["results"]
    seen, url = [], "/api/v1/queue/?sort=due&page_size=2"
    while url:
        body = client.get(url).json()
        seen += body["results"]
        url = body["next"]
    assert [(r["type"], r[r["type"]]["id"]) for r in seen] == [
        (r["type"], r[r["type"]]["id"]) for r in whole
    ]
    conversations = client.get("/api/v1/conversations/?sort=due&page_size=2")
    ids = []
    url = "/api/v1/conversations/?sort=due&page_size=2"
    while url:
        body = client.get(url).json()
        ids += [r["id"] for r in body["results"]]
        url = body["next"]
    assert conversations.status_code == 200
    assert ids == [
        due_queue[k].id for k in ("chat_a3_overdue", "chat_a1_3h", "chat_a2_tie", "chat_a1_none")
    ]


def test_bad_sort_and_due_values_are_400s(world, api):
    client = api.as_user(world.agent_a1)
    assert client.get("/api/v1/queue/?sort=deadline").status_code == 400
    response = client.get("/api/v1/queue/?due=tomorrow")
    assert response.status_code == 400 and "due" in response.json()["error"]["details"]
    assert client.get("/api/v1/queue/?sort=due&cursor=1.2").status_code == 400
