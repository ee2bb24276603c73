"""The queue's first page reads its conversations with a statement compiled once per view
(``queue._page_compiled``): the same rows, in the same order, as the ORM's query of that
view, for every filter it covers, and the ORM's own read for those it does not (issue 18)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.models import Conversation, Tag
from inbox.selectors.conversations import QueueFilters, conversations_of_shops
from inbox.selectors.queue import case_rows, queue_page
from inbox.selectors.queue_rows import shops_shown_for
from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy(world):
    vip = Tag.objects.create(organisation=world.org_a, name="vip")
    rows = []
    for i in range(12):
        shop = (world.shop_a1, world.shop_a2, world.shop_a3)[i % 3]
        c = conversation_with_messages(shop, waited=timedelta(minutes=5 * (i + 1)))
        c.assignee = (None, world.agent_a2, world.supervisor_a)[i % 3] if i % 4 else None
        c.priority = i % 4
        c.status = ("open", "pending", "open", "resolved")[i % 4]
        c.save(update_fields=["assignee", "priority", "status"])
        if i % 2:
            c.tags.add(vip)
        rows.append(c)
    # and cases needing a decision in each shop, some with a deadline, one of another org
    for i, shop in enumerate((world.shop_a1, world.shop_a2, world.shop_a3, world.shop_a2)):
        case_needing_decision(shop, due_in=timedelta(hours=i + 1) if i % 2 == 0 else None)
    case_needing_decision(world.shop_b1, due_in=timedelta(hours=1))
    # one with the chat it came from: assigned to agent_a2, tagged vip (the filters reach it)
    assert rows[1].assignee_id == world.agent_a2.id and rows[1].tags.filter(name="vip").exists()
    case_needing_decision(world.shop_a2, conversation=rows[1], due_in=timedelta(hours=2))
    return rows


VIEWS = [
    QueueFilters(),
    QueueFilters(assignee="me"),
    QueueFilters(assignee="unassigned"),
    QueueFilters(assignee="{supervisor}"),
    QueueFilters(tag="vip"),
    QueueFilters(tag="vip", assignee="me", sort="priority"),
    QueueFilters(sort="due"),
    QueueFilters(sort="newest", statuses=("open", "pending", "resolved")),
    QueueFilters(statuses=()),
    QueueFilters(tag="no-such-tag"),
    QueueFilters(waiting_longer_than=timedelta(minutes=20)),
]


def _view(world, view: int, who: str):
    """The person, the view's filters (the supervisor's id put in) and the person's shops."""
    from dataclasses import replace

    user = getattr(world, who)
    filters = VIEWS[view]
    if filters.assignee == "{supervisor}":
        filters = replace(filters, assignee=str(world.supervisor_a.id))
    return user, filters, list(shops_shown_for(user))


@pytest.mark.parametrize("view", range(len(VIEWS)))
@pytest.mark.parametrize("who", ["agent_a2", "supervisor_a"])
def test_the_first_page_is_the_orms_query_of_that_view(world, busy, view, who):
    user, filters, shops = _view(world, view, who)
    expected = list(conversations_of_shops(user, filters, shops).values_list("id", flat=True)[:5])
    # When the first page of five is read (twice: compiled, then run from the compiled one)
    for _ in range(2):
        page = queue_page(user, filters, kind="conversations", limit=5)
        assert [r.item.id for r in page.rows] == expected
    # And the next page continues where the ORM's order does
    if page.next_cursor:
        rest = queue_page(user, filters, kind="conversations", cursor=page.next_cursor, limit=50)
        everything = list(conversations_of_shops(user, filters, shops).values_list("id", flat=True))
        assert [r.item.id for r in page.rows + rest.rows] == everything


@pytest.mark.parametrize("view", range(len(VIEWS)))
@pytest.mark.parametrize("who", ["agent_a2", "supervisor_a"])
def test_the_first_pages_cases_are_the_orms_cases_of_that_view(world, busy, view, who):
    user, filters, shops = _view(world, view, who)
    base = case_rows(user, filters, shops)
    expected = set(base.values_list("id", flat=True)) if base is not None else set()
    for _ in range(2):  # compiled, then run from the compiled statement
        page = queue_page(user, filters, kind="all", limit=50)
        assert {r.item.id for r in page.rows if r.kind == "case"} == expected


def test_another_persons_first_page_is_theirs_not_the_compiled_ones(world, busy):
    # Given the statement compiled for one agent's "mine"
    first = queue_page(world.agent_a2, QueueFilters(assignee="me"), kind="conversations")
    assert first.rows and all(r.item.assignee_id == world.agent_a2.id for r in first.rows)
    # Then the supervisor's "mine" (same view, same statement) lists theirs, not the agent's
    theirs = queue_page(world.supervisor_a, QueueFilters(assignee="me"), kind="conversations")
    assert theirs.rows
    assert {r.item.assignee_id for r in theirs.rows} == {world.supervisor_a.id}
    # And an agent of another organisation sees none of them
    other = queue_page(world.agent_b, QueueFilters(), kind="conversations")
    ids = {c.id for c in busy}
    assert not ids & {r.item.id for r in other.rows}
    assert Conversation.objects.filter(id__in=ids).count() == 12


@pytest.mark.django_db(transaction=True)
def test_a_second_request_through_asgi_compiles_nothing(world, busy, monkeypatch):
    # (under ASGI each request runs in a thread of its own, with a connection object of its
    # own: the statements must outlive both)
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    import scrm.compiled

    compiles = []
    compile_ = scrm.compiled._compile

    def counted(*args):
        compiles.append(args[1])
        return compile_(*args)

    monkeypatch.setattr(scrm.compiled, "_compile", counted)
    client = AsyncClient()
    async_to_sync(client.aforce_login)(world.agent_a2)

    async def queue():
        return await client.get("/api/v1/queue/")

    first = async_to_sync(queue)()
    assert first.status_code == 200 and first.json()["results"]
    done = len(compiles)
    second = async_to_sync(queue)()
    assert second.status_code == 200 and second.json() == first.json()
    assert len(compiles) == done  # the second request compiled nothing


def test_two_people_of_one_view_and_shape_see_their_own_rows(world, busy):
    # Given a second agent with as many shops as agent_a2 (so the same statement), other shops
    from inbox.models import Role
    from tests.factories import make_person

    other = make_person(world.org_a, Role.AGENT, [world.shop_a1, world.shop_a3], username="a13")
    mine = queue_page(world.agent_a2, QueueFilters(), kind="all", limit=50)
    theirs = queue_page(other, QueueFilters(), kind="all", limit=50)
    # Then each page holds its own shops' rows only
    assert {r.item.shop_account_id for r in mine.rows} == {world.shop_a2.id, world.shop_a3.id}
    assert {r.item.shop_account_id for r in theirs.rows} == {world.shop_a1.id, world.shop_a3.id}
    # And the same for the next page of each (a cursor of the same shape)
    for user in (world.agent_a2, other):
        first = queue_page(user, QueueFilters(), kind="all", limit=3)
        rest = queue_page(user, QueueFilters(), kind="all", cursor=first.next_cursor, limit=50)
        whole = queue_page(user, QueueFilters(), kind="all", limit=100)
        labels = [(r.kind, r.item.id) for r in first.rows + rest.rows]
        assert labels == [(r.kind, r.item.id) for r in whole.rows]
