"""The one queue: conversations and cases needing a decision, ordered by when the answer is
due, paged by keyset, each user seeing only their shops' rows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.models import AfterSalesCase, Conversation
from inbox.selectors import QueueFilters
from inbox.selectors.queue import queue_page
from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def labels(page) -> list[tuple[str, int]]:
    return [(row.kind, row.item.id) for row in page.rows]


def walk(user, filters=None, *, kind="all", limit=3):
    """Every row of the queue, page after page."""
    filters = filters or QueueFilters()
    seen, cursor, pages = [], None, 0
    while True:
        page = queue_page(user, filters, kind=kind, cursor=cursor, limit=limit)
        seen += labels(page)
        pages += 1
        assert pages < 50
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.fixture
def mixed(world, settings):
    settings.SCRM_CHAT_REPLY_TARGET_MINUTES = 12 * 60
    settings.SCRM_CASE_DEFAULT_DEADLINE_HOURS = 24
    a1 = world.shop_a1
    answered = conversation_with_messages(a1, waited=2 * H)
    Conversation.objects.filter(id=answered.id).update(
        waiting_since=None, queue_key=Conversation._meta.get_field("queue_key").default()
    )
    return {
        "chat_late": conversation_with_messages(a1, waited=13 * H),  # due 1 h ago
        "case_soon": case_needing_decision(a1, due_in=2 * H),
        "chat_new": conversation_with_messages(a1, waited=timedelta(minutes=5)),  # due in ~12 h
        "case_no_deadline": case_needing_decision(a1, due_in=None, asked=H),  # due in 23 h
        "case_later": case_needing_decision(a1, due_in=30 * H),
        "answered": answered,
        "case_decided": case_needing_decision(a1, due_in=H, stage="decided"),
        "case_other_shop": case_needing_decision(world.shop_a2, due_in=3 * H),
        "case_other_org": case_needing_decision(world.shop_b1, due_in=H),
    }


def row(kind, obj):
    return (kind, obj.id)


def test_cases_and_conversations_in_one_order_by_due_time(world, mixed):
    page = queue_page(world.agent_a1, QueueFilters())
    assert labels(page) == [
        row("conversation", mixed["chat_late"]),
        row("case", mixed["case_soon"]),
        row("conversation", mixed["chat_new"]),
        row("case", mixed["case_no_deadline"]),
        row("case", mixed["case_later"]),
        row("conversation", mixed["answered"]),  # answered conversations keep sorting last
    ]
    assert page.next_cursor is None
    no_deadline = page.rows[3]
    assert no_deadline.due == mixed["case_no_deadline"].platform_created_at + 24 * H


def test_the_reply_target_setting_moves_conversations(world, mixed, settings):
    settings.SCRM_CHAT_REPLY_TARGET_MINUTES = 48 * 60  # a chat is due two days after it waits
    got = labels(queue_page(world.agent_a1, QueueFilters()))
    assert got[:3] == [
        row("case", mixed["case_soon"]),
        row("case", mixed["case_no_deadline"]),
        row("case", mixed["case_later"]),
    ]


@pytest.mark.parametrize("per_shop_scans_max", [10, 1])  # shop by shop, and one IN-list scan
def test_paging_over_the_merged_order_gives_each_row_once(
    world, mixed, monkeypatch, per_shop_scans_max
):
    from inbox.selectors import queue_sources

    monkeypatch.setattr(queue_sources, "PER_SHOP_SCANS_MAX", per_shop_scans_max)
    for due in (5, 1, 9, 3):
        case_needing_decision(world.shop_a2, due_in=due * H)
    whole = labels(queue_page(world.supervisor_a, QueueFilters(), limit=100))
    assert len(whole) == 11
    for limit in (1, 2, 3, 4):
        assert walk(world.supervisor_a, limit=limit) == whole


def test_rows_changing_between_pages_neither_repeat_nor_go_missing(world, mixed):
    first = queue_page(world.agent_a1, QueueFilters(), limit=2)
    assert labels(first) == [
        row("conversation", mixed["chat_late"]),
        row("case", mixed["case_soon"]),
    ]
    # Between the pages: a case shown already is decided, one not shown yet is decided, a new
    # case due before the cursor arrives (the next pages do not show it: the page reloads), a
    # new one due later arrives.
    AfterSalesCase.objects.filter(id__in=[mixed["case_soon"].id, mixed["case_later"].id]).update(
        stage="decided"
    )
    early = case_needing_decision(world.shop_a1, due_in=-5 * H)
    late = case_needing_decision(world.shop_a1, due_in=40 * H)
    rest = walk_from(world.agent_a1, first.next_cursor)
    assert rest == [
        row("conversation", mixed["chat_new"]),
        row("case", mixed["case_no_deadline"]),
        row("case", late),
        row("conversation", mixed["answered"]),
    ]
    assert row("case", early) not in rest


def walk_from(user, cursor, limit=2):
    seen = []
    while cursor:
        page = queue_page(user, QueueFilters(), cursor=cursor, limit=limit)
        seen += labels(page)
        cursor = page.next_cursor
    return seen


def test_a_tie_on_due_time_puts_the_case_first_then_the_lower_id(world, settings):
    settings.SCRM_CHAT_REPLY_TARGET_MINUTES = 60
    chat = conversation_with_messages(world.shop_a1, waited=H)
    due = chat.queue_key + H
    cases = [case_needing_decision(world.shop_a1, due_in=timedelta(0)) for _ in range(3)]
    AfterSalesCase.objects.filter(id__in=[c.id for c in cases]).update(seller_deadline=due)
    expected = [row("case", c) for c in cases] + [row("conversation", chat)]
    assert walk(world.agent_a1, limit=1) == expected


def test_each_user_sees_only_the_cases_of_their_shops(world, mixed):
    assert row("case", mixed["case_other_shop"]) not in labels(
        queue_page(world.agent_a1, QueueFilters())
    )
    agent_a2 = labels(queue_page(world.agent_a2, QueueFilters()))
    assert agent_a2 == [row("case", mixed["case_other_shop"])]
    assert labels(queue_page(world.agent_b, QueueFilters())) == [
        row("case", mixed["case_other_org"])
    ]
    # asking for a shop outside your reach gives nothing, not that shop's rows
    outside = QueueFilters(shop_account_ids=(world.shop_b1.id,))
    assert labels(queue_page(world.supervisor_a, outside)) == []
    assert (
        labels(queue_page(world.agent_a1, QueueFilters(shop_account_ids=(world.shop_a2.id,)))) == []
    )


def test_after_sales_only_and_conversations_only(world, mixed):
    cases = labels(queue_page(world.agent_a1, QueueFilters(), kind="cases"))
    assert cases == [
        row("case", mixed["case_soon"]),
        row("case", mixed["case_no_deadline"]),
        row("case", mixed["case_later"]),
    ]
    chats = labels(queue_page(world.agent_a1, QueueFilters(), kind="conversations"))
    assert {k for k, _ in chats} == {"conversation"} and len(chats) == 3
    assert walk(world.agent_a1, kind="cases", limit=1) == cases


def test_filters_apply_to_cases_through_their_conversation(world, mixed):
    mine = conversation_with_messages(world.shop_a1, waited=H)
    Conversation.objects.filter(id=mine.id).update(assignee=world.agent_a1)
    my_case = case_needing_decision(world.shop_a1, due_in=50 * H, conversation=mine)
    agent = world.agent_a1
    assert labels(queue_page(agent, QueueFilters(assignee="me"), kind="cases")) == [
        row("case", my_case)
    ]
    unassigned = labels(queue_page(agent, QueueFilters(assignee="unassigned"), kind="cases"))
    assert row("case", my_case) not in unassigned and row("case", mixed["case_soon"]) in unassigned
    # resolved conversations: no case needing a decision belongs there
    assert labels(queue_page(agent, QueueFilters(statuses=("resolved",)), kind="cases")) == []
    # search by the case's order id or platform id
    by_order = QueueFilters(search=mixed["case_later"].order_platform_id)
    assert labels(queue_page(agent, by_order, kind="cases")) == [row("case", mixed["case_later"])]
    by_id = QueueFilters(search=mixed["case_soon"].platform_case_id)
    assert labels(queue_page(agent, by_id)) == [row("case", mixed["case_soon"])]
    waited = QueueFilters(waiting_longer_than=3 * H)  # asked 4 h ago, but not the 1 h one
    got = labels(queue_page(agent, waited, kind="cases"))
    assert (
        row("case", mixed["case_soon"]) in got and row("case", mixed["case_no_deadline"]) not in got
    )


@pytest.mark.parametrize("sort", ["newest", "priority"])
def test_other_sorts_page_over_cases_too(world, mixed, sort):
    Conversation.objects.filter(id=mixed["chat_new"].id).update(priority=3)
    filters = QueueFilters(sort=sort)
    whole = labels(queue_page(world.agent_a1, filters, limit=100))
    assert len(whole) == 6 and len(set(whole)) == 6
    assert walk(world.agent_a1, filters, limit=2) == whole
    if sort == "priority":
        # the urgent chat first; cases count as normal priority, by due time among the others
        assert whole[0] == row("conversation", mixed["chat_new"])
        assert whole[1:3] == [
            row("conversation", mixed["chat_late"]),
            row("case", mixed["case_soon"]),
        ]


def test_an_unusable_cursor_is_the_first_page(world, mixed):
    first = labels(queue_page(world.agent_a1, QueueFilters(), limit=2))
    for bad in ("x", "1.2", "1.5.3", "-1.0.1", "99999999999999999999999.0.1", "１.0.1"):
        assert labels(queue_page(world.agent_a1, QueueFilters(), cursor=bad, limit=2)) == first
