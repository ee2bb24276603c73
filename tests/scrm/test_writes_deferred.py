"""``scrm.db.writes_deferred``: a store's writes that nothing reads back (search tokens, the
metrics' day marks, the conversation's gathered UPDATE) go in one round trip with its next
statement on PostgreSQL (issue 18), and the transaction ends holding what it would have held
with each write sent at once."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from inbox.models import Conversation, InboxEvent, MessageToken
from scrm.db import insert_rows, row_update, statement_deferred, writes_deferred
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"


def _tokens(message, *tokens: int) -> list[MessageToken]:
    return [
        MessageToken(shop_account_id=message.shop_account_id, message_id=message.pk, token=t)
        for t in tokens
    ]


def _event(world) -> InboxEvent:
    return InboxEvent(organisation_id=world.org_a.id, type="message.created", data=MARK)


MARK = {"deferred": "probe"}


def _probes() -> bool:
    return any(e.data == MARK for e in InboxEvent.objects.all())


def _writes(queries) -> list[str]:
    """The round trips that wrote (the test's own savepoints left out)."""
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE"))]


def test_deferred_writes_go_with_the_next_statement_in_one_round_trip(world):
    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    conversation.unread_count = 9
    event = _event(world)
    # When a store asks for three writes nothing reads back, then records an event
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), writes_deferred():
        insert_rows(_tokens(message, 1001, 1002), defer=True)
        statement_deferred(
            "UPDATE inbox_conversation SET can_send_message = %s WHERE id = %s",
            [False, conversation.pk],
        )
        row_update(conversation, ["unread_count"], defer=True)
        sent_before_the_event = len(_writes(queries))
        insert_rows([event])
    # Then on PostgreSQL nothing went before the event's INSERT, and all went in its round trip
    # (SQLite: each at once); the event has its id, and every write is in the database
    sent = _writes(queries)
    if POSTGRES:
        assert sent_before_the_event == 0
        assert len(sent) == 1
        assert sent[0].startswith('INSERT INTO "inbox_messagetoken"')
        assert sent[0].count("; ") == 3
    else:
        assert sent_before_the_event == 3 and len(sent) == 4
    assert InboxEvent.objects.get(pk=event.pk).data == MARK
    stored = Conversation.objects.get(pk=conversation.pk)
    assert (stored.unread_count, stored.can_send_message) == (9, False)
    tokens = MessageToken.objects.filter(message_id=message.pk, token__in=[1001, 1002])
    assert tokens.count() == 2


def test_what_is_left_goes_when_the_block_ends(world):
    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        with writes_deferred():
            insert_rows(_tokens(message, 1003), defer=True)
            assert not MessageToken.objects.filter(token=1003).exists() or not POSTGRES
        assert MessageToken.objects.filter(token=1003).count() == 1
    assert [w[:31] for w in _writes(queries)] == ['INSERT INTO "inbox_messagetoken"'[:31]]


def test_a_deferred_update_that_finds_no_row_raises_and_the_transaction_keeps_nothing(world):
    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    gone = conversation_with_messages(world.shop_a1)
    Conversation.objects.filter(pk=gone.pk).delete()
    gone.unread_count = 3
    # When a deferred UPDATE of a vanished row goes with the event's INSERT
    with pytest.raises(DatabaseError), transaction.atomic(), writes_deferred():
        insert_rows(_tokens(message, 1004), defer=True)
        row_update(gone, ["unread_count"], defer=True)
        insert_rows([_event(world)])
    # Then it raised there (as at once), and nothing of the transaction was kept
    assert not MessageToken.objects.filter(token=1004).exists()
    assert not _probes()


def test_a_failing_deferred_write_raises_from_the_statement_it_went_with(world):
    conversation = conversation_with_messages(world.shop_a1)
    with pytest.raises(DatabaseError), transaction.atomic(), writes_deferred():
        statement_deferred("UPDATE inbox_conversation SET unread_count = %s", [None])  # NOT NULL
        if POSTGRES:  # still waiting
            assert Conversation.objects.get(pk=conversation.pk).unread_count is not None
        insert_rows([_event(world)])
    assert not _probes()


def test_an_exception_in_the_block_leaves_the_transaction_to_roll_back(world):
    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    # When the block raises and its caller catches the exception inside the transaction
    with pytest.raises(TransactionManagementError), transaction.atomic():
        try:
            with writes_deferred():
                insert_rows(_tokens(message, 1005), defer=True)
                raise LookupError("the store failed")
        except LookupError:
            pass
        # Then the transaction cannot go on to commit part of the block (sent or not)
        MessageToken.objects.filter(token=1005).exists()
    assert not MessageToken.objects.filter(token=1005).exists()


def test_a_savepoint_in_the_block_writes_at_once_and_carries_none_of_the_blocks(world):
    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    with transaction.atomic(), writes_deferred():
        insert_rows(_tokens(message, 1006), defer=True)
        # A savepoint: its deferred write goes at once, its statements carry nothing of the
        # block's, and rolling it back takes its own writes only
        with CaptureQueriesContext(connection) as inside:
            try:
                with transaction.atomic():
                    insert_rows(_tokens(message, 1007), defer=True)
                    insert_rows([_event(world)])
                    raise LookupError
            except LookupError:
                pass
        written = _writes(inside)
        assert len(written) == 2
        assert all("; " not in sql for sql in written)
        assert not MessageToken.objects.filter(token=1007).exists()
    assert MessageToken.objects.filter(token=1006).count() == 1
    assert not _probes()


def test_outside_the_block_a_deferred_write_goes_at_once(world):
    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    tokens = _tokens(message, 1008)
    with CaptureQueriesContext(connection) as queries:
        insert_rows(tokens, defer=True)
    assert len(queries) == 1 and tokens[0].pk is not None
    assert MessageToken.objects.filter(token=1008).count() == 1


def test_insert_unless_conflict_carries_them_and_reads_its_own_result(world):
    from inbox.models import Customer
    from scrm.db import insert_unless_conflict

    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    key = {"organisation_id": world.org_a.id, "platform": "tiktok_shop"}
    with transaction.atomic(), writes_deferred():
        insert_rows(_tokens(message, 1011), defer=True)
        fresh = Customer(**key, im_user_id="deferred-buyer", display_name="Mia")
        assert insert_unless_conflict(fresh, constraint="uniq_customer") is True
        insert_rows(_tokens(message, 1012), defer=True)
        again = Customer(**key, im_user_id="deferred-buyer", display_name="Mia")
        assert insert_unless_conflict(again, constraint="uniq_customer") is False
    assert fresh.pk is not None and again.pk is None
    assert Customer.objects.filter(im_user_id="deferred-buyer").count() == 1
    assert MessageToken.objects.filter(token__in=[1011, 1012]).count() == 2


def test_a_store_sends_its_unread_writes_with_the_change_feeds_insert(world):
    """The store itself defers: on PostgreSQL no token, day mark or conversation UPDATE goes in
    a round trip of its own, and all of them are written."""
    from datetime import UTC, datetime

    from inbox.models import CustomerSearchToken
    from inbox.platforms.base import Participant, PlatformMessage
    from inbox.services.ingestion import messages_store
    from monitoring.models import MetricDirtyDay
    from tests.statements import statements_of

    at = datetime.now(UTC).replace(microsecond=0)
    buyer = Participant(role="BUYER", im_user_id="im-deferred", nickname="Lin")
    message = PlatformMessage(
        message_id="deferred-1",
        conversation_id="conv-deferred",
        type="TEXT",
        content={"content": "where is my parcel"},
        create_time=at,
        sender=buyer,
    )
    with CaptureQueriesContext(connection) as queries:
        messages_store(shop=world.shop_a1, conversation_id="conv-deferred", messages=[message])
    conversation = Conversation.objects.get(platform_conversation_id="conv-deferred")
    stored = conversation.messages.get()
    # Everything was written: the message's and the buyer's tokens, the day's mark, the state
    assert MessageToken.objects.filter(message_id=stored.pk).exists()
    assert CustomerSearchToken.objects.filter(customer_id=conversation.customer_id).exists()
    assert MetricDirtyDay.objects.filter(shop_account_id=world.shop_a1.pk).exists()
    assert (conversation.waiting_since, conversation.last_message_preview) == (
        at,
        "where is my parcel",
    )
    deferred = ("inbox_messagetoken", "inbox_customersearchtoken", "monitoring_metricdirtyday")
    trips = [q["sql"] for q in queries.captured_queries]
    alone = [
        sql[:50]
        for sql in trips
        if len(statements_of([{"sql": sql}])) == 1
        and (
            any(f'INTO "{t}"' in sql or f"INTO {t}" in sql for t in deferred)
            or sql.startswith('UPDATE "inbox_conversation"')
        )
    ]
    if POSTGRES:
        assert alone == []
        assert len(statements_of(queries.captured_queries)) >= len(trips) + 4
    else:
        assert len(alone) >= 4  # SQLite: each at once


def test_a_block_without_a_savepoint_keeps_deferring_for_the_next_statement(world):
    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    # Given deferred writes asked inside blocks that open no savepoint (a batch's conversations
    # each stored in one: inbox.services.ingestion.conversations_store)
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), writes_deferred():
        for token in (1009, 1010):
            with transaction.atomic(savepoint=False):
                insert_rows(_tokens(message, token), defer=True)
        sent_before_the_event = len(_writes(queries))
        insert_rows([_event(world)])
    # Then on PostgreSQL they still wait for the block's next statement and go in its round
    # trip (such a block cannot be rolled back alone: its failure dooms the transaction)
    if POSTGRES:
        assert sent_before_the_event == 0
        assert len(_writes(queries)) == 1
    assert MessageToken.objects.filter(token__in=[1009, 1010]).count() == 2
    assert _probes()
