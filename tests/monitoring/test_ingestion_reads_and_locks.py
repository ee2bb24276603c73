"""What storing messages reads and waits for (issue 18).

A conversation created with its first messages takes its deadlines and chat requests from the
batch in hand, reading back no deadline, request or message, and they are what the same
messages give when they reach a conversation already stored. The shop's row locks (an
auto-assigner's turn, a token refresh) never hold up the other messages of the shop; a manual
shop takes none."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import close_old_connections, connection, transaction
from django.test.utils import CaptureQueriesContext

from inbox.models import AssignmentMode, InboxEvent, ShopAccount
from inbox.services.assignment import conversation_auto_assign
from inbox.services.ingestion import ShopTokenKeeper
from monitoring.models.metrics import ResponseFact
from tests.monitoring.sla_builders import all_deadlines, store

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def _deadlines(chat) -> list[tuple[str, str, datetime]]:
    return sorted((d.kind, d.state, d.started_at) for d in all_deadlines(chat))


def _requests(chat) -> list[tuple[datetime, datetime | None, str]]:
    facts = ResponseFact.objects.filter(conversation=chat).order_by("received_at")
    return [(f.received_at, f.answered_at, f.state) for f in facts]


def test_a_new_conversation_answered_on_the_platform_waits_for_a_next_reply(world):
    # Given a chat whose first sync holds a buyer question, a person's answer from the
    # platform's own app, and the buyer writing again
    chat = store(
        world.shop_a1,
        "new-c1",
        ("BUYER", T0),
        ("CUSTOMER_SERVICE", T0 + 5 * M),
        ("BUYER", T0 + 10 * M),
    )
    # Then the wait is a next reply from the second question (someone has answered before)
    assert _deadlines(chat) == [
        ("next_reply", "open", T0 + 10 * M),
        ("same_day", "open", T0 + 10 * M),
    ]
    # and the first request was answered by that person, the second waits
    assert _requests(chat) == [(T0, T0 + 5 * M, "answered"), (T0 + 10 * M, None, "open")]


def test_a_new_conversation_gives_what_the_same_messages_give_one_sync_at_a_time(world):
    # Given the same messages, all in the first sync of one chat, one per sync in another
    steps = [("BUYER", T0), ("CUSTOMER_SERVICE", T0 + 5 * M), ("BUYER", T0 + 10 * M)]
    at_once = store(world.shop_a1, "new-c2", *steps)
    one_by_one = None
    for step in steps:
        one_by_one = store(world.shop_a1, "new-c3", step)
    # Then the same deadlines are open (one by one, the first wait's were also opened and
    # met), and the requests are the same
    assert _deadlines(at_once) == [d for d in _deadlines(one_by_one) if d[1] == "open"]
    assert _requests(at_once) == _requests(one_by_one)


def test_a_new_conversation_reads_back_no_deadline_request_message_or_tag(world):
    # When a buyer's first message opens a chat
    with CaptureQueriesContext(connection) as queries:
        chat = store(world.shop_a1, "new-c4", ("BUYER", T0))
    # Then its first reply and same-day deadlines and its request are there
    assert [k for k, _, _ in _deadlines(chat)] == ["first_reply", "same_day"]
    assert _requests(chat) == [(T0, None, "open")]
    # without reading deadlines, requests or messages it created itself
    reads = [
        q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")
    ]
    for table in ("monitoring_deadline", "monitoring_responsefact", "inbox_message", "inbox_tag"):
        assert not [sql for sql in reads if f'FROM "{table}"' in sql], table
    # and the agents are told it has no tags
    update = InboxEvent.objects.filter(type="conversation.updated").latest("id")
    assert update.data["id"] == chat.id
    assert update.data["tags"] == []
    # and its events — the deadline's, the message's, the conversation's — are one INSERT
    feed = [
        q["sql"] for q in queries.captured_queries if 'INSERT INTO "inbox_inboxevent"' in q["sql"]
    ]
    assert len(feed) == 1
    # and, on PostgreSQL, the request is written in that INSERT's round trip, not in one of
    # its own (SQLite: every write at once)
    if connection.vendor == "postgresql":
        facts = [
            q["sql"] for q in queries.captured_queries if "monitoring_responsefact" in q["sql"]
        ]
        assert len(facts) == 1 and facts[0] == feed[0]
    assert list(InboxEvent.objects.order_by("id").values_list("type", flat=True)) == [
        "sla.deadline",
        "message.created",
        "conversation.updated",
    ]


@contextlib.contextmanager
def _held(target):
    """Run ``target`` in a transaction of another thread and keep that transaction open (a
    context manager ``target`` returns stays entered) while the block runs."""
    held, release = threading.Event(), threading.Event()

    def run() -> None:
        try:
            with transaction.atomic(), contextlib.ExitStack() as stack:
                entered = target()
                if hasattr(entered, "__enter__"):
                    stack.enter_context(entered)
                held.set()
                release.wait(30)
        finally:
            close_old_connections()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert held.wait(10)
        yield
    finally:
        release.set()
        thread.join(10)


def _store_without_waiting(shop, chat: str, at: datetime):
    """Store a buyer message; a lock wait fails it (2 s) instead of waiting."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '2s'")
    try:
        return store(shop, chat, ("BUYER", at))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", [AssignmentMode.ROUND_ROBIN, AssignmentMode.LEAST_OPEN])
def test_a_shop_auto_assigning_does_not_hold_up_its_other_conversations(world, mode):
    # Given an auto-assigning shop with a stored chat, and another worker auto-assigning a
    # new conversation of the shop in a transaction not yet committed
    shop = world.shop_a1
    ShopAccount.objects.filter(pk=shop.pk).update(assignment_mode=mode)
    chat = store(shop, "new-c5", ("BUYER", T0))
    other = store(shop, "new-c6", ("BUYER", T0))
    other.assignee_id = None
    with _held(lambda: conversation_auto_assign(conversation=other)):
        # When the buyer of the stored chat writes again meanwhile
        after = _store_without_waiting(shop, "new-c5", T0 + M)
        # Then it is stored (the assigner's lock on the shop leaves its rows' inserts alone)
        assert after.pk == chat.pk and after.last_buyer_message_at == T0 + M


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_manual_shop_new_conversations_do_not_wait_for_an_assigner(world):
    # Given a shop that assigns by hand, whose assignment another transaction holds (a worker
    # that read it before the supervisor switched it to manual)
    shop = world.shop_a1
    ShopAccount.objects.filter(pk=shop.pk).update(assignment_mode=AssignmentMode.MANUAL)
    with _held(lambda: ShopAccount.objects.select_for_update(no_key=True).get(pk=shop.pk)):
        # When a buyer opens a chat meanwhile
        chat = _store_without_waiting(shop, "new-c7", T0)
        # Then it is stored, unassigned, with its deadlines
        assert chat.assignee_id is None
        assert [k for k, _, _ in _deadlines(chat)] == ["first_reply", "same_day"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_token_refresh_in_progress_does_not_hold_up_the_shops_messages(world):
    # Given a worker refreshing the shop's tokens (its lock held for the platform's answer)
    shop = world.shop_a1
    with _held(lambda: ShopTokenKeeper(shop.pk).lock()):
        # When a buyer opens a chat meanwhile
        chat = _store_without_waiting(shop, "new-c8", T0)
        # Then it is stored
        assert chat.last_buyer_message_at == T0
