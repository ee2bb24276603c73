"""``scrm.db.insert_rows``: the hot path's many-row INSERT (messages, their search tokens, the
change feed, deadlines, metric facts) without ``bulk_create``'s per-call Python (issue 18).
It must write what ``bulk_create`` writes, give back the ids in order, and refuse what it
cannot write the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from inbox.models import InboxEvent, Message, MessageToken
from scrm.db import insert_rows
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db

AT = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def _messages(conversation, tag: str, count: int = 3) -> list[Message]:
    return [
        Message(
            conversation=conversation,
            shop_account_id=conversation.shop_account_id,
            platform_message_id=f"{tag}-{i}",
            direction="in",
            sender_role="BUYER",
            type="TEXT",
            text=f"where is my parcel {i}?",
            content={"content": f"where is my parcel {i}?", "n": i},
            sent_at=AT + timedelta(seconds=i),
            platform_index=str(i),
            delivery_state="received",
        )
        for i in range(count)
    ]


def _stored(message: Message) -> dict:
    row = model_to_dict(Message.objects.get(pk=message.pk))
    row["row_uid"] = Message.objects.filter(pk=message.pk).values_list("row_uid", flat=True)[0]
    row.pop("id")
    row["platform_message_id"] = row["platform_message_id"].split("-", 1)[1]
    return row


def test_rows_are_written_as_bulk_create_writes_them_with_their_ids_in_order(world):
    conversation = conversation_with_messages(world.shop_a1)
    theirs = _messages(conversation, "orm")
    mine = _messages(conversation, "fast")
    for a, b in zip(theirs, mine, strict=True):
        b.row_uid = a.row_uid  # the same row identity, so the same sealed values open alike
    Message.objects.bulk_create(theirs)
    with CaptureQueriesContext(connection) as queries:
        insert_rows(mine)
    # One statement; each object has its row's id, in order, and is saved
    assert len(queries) == 1
    assert [m.pk for m in mine] == sorted(m.pk for m in mine)
    assert all(not m._state.adding and m._state.db == "default" for m in mine)
    assert [Message.objects.get(pk=m.pk).platform_message_id for m in mine] == [
        f"fast-{i}" for i in range(3)
    ]
    # And every column reads back as bulk_create's row does (sealed text and JSON opened)
    for a, b in zip(theirs, mine, strict=True):
        assert _stored(b) == _stored(a)
    stored = Message.objects.get(pk=mine[1].pk)
    assert stored.text == "where is my parcel 1?"
    assert stored.content == {"content": "where is my parcel 1?", "n": 1}
    # And the sealed columns are not the plain text
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM inbox_message WHERE id = %s", [mine[1].pk])
        (sealed,) = cursor.fetchone()
    assert "parcel" not in str(sealed)


def test_more_rows_than_one_statement_takes_are_split_and_all_get_ids(world):
    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    # 1,200 tokens of three columns: past SQLite's 999 parameters a statement
    tokens = [
        MessageToken(shop_account_id=world.shop_a1.pk, message_id=message.pk, token=n)
        for n in range(1_200)
    ]
    with CaptureQueriesContext(connection) as queries:
        insert_rows(tokens)
    limit = connection.features.max_query_params
    assert len(queries) == (4 if limit == 999 else 1)
    assert len({t.pk for t in tokens}) == 1_200 and None not in {t.pk for t in tokens}
    stored = dict(MessageToken.objects.filter(message_id=message.pk).values_list("pk", "token"))
    assert {t.pk: t.token for t in tokens}.items() <= stored.items()


def test_ignore_conflicts_skips_rows_a_unique_key_holds_and_sets_no_ids(world):
    conversation = conversation_with_messages(world.shop_a1)
    first = _messages(conversation, "dup", count=2)
    insert_rows(first)
    again = _messages(conversation, "dup", count=3)  # two already stored, one new
    insert_rows(again, ignore_conflicts=True)
    assert [m.pk for m in again] == [None, None, None]
    ids = Message.objects.filter(platform_message_id__startswith="dup-").values_list(
        "platform_message_id", flat=True
    )
    assert sorted(ids) == ["dup-0", "dup-1", "dup-2"]


def test_a_column_given_as_sql_is_computed_by_the_database(world):
    event = InboxEvent(organisation_id=world.org_a.id, type="message.created", data={"x": 1})
    expression = "41 + 1"
    insert_rows([event], sql_values={"txid": expression})
    stored = InboxEvent.objects.get(pk=event.pk)
    assert (stored.txid, stored.data, stored.created_at is not None) == (42, {"x": 1}, True)


def test_what_it_cannot_write_alike_is_refused_before_anything_is_written(world):
    conversation = conversation_with_messages(world.shop_a1)
    before = Message.objects.count()
    # an expression as a value
    expression = _messages(conversation, "expr", count=1)
    expression[0].platform_index = F("id")
    with pytest.raises(TypeError, match="an expression"):
        insert_rows(expression)
    # an id the database should give
    given = _messages(conversation, "pk", count=1)
    given[0].pk = 10**9
    with pytest.raises(ValueError, match="primary key"):
        insert_rows(given)
    # two models at once
    event = InboxEvent(organisation_id=world.org_a.id, type="x", data={})
    with pytest.raises(TypeError, match="one model"):
        insert_rows([*_messages(conversation, "mixed", count=1), event])
    # a column the model does not have
    with pytest.raises(ValueError, match="no column"):
        insert_rows([event], sql_values={"nope": "1"})
    assert Message.objects.count() == before
    # and nothing to insert is no statement
    with CaptureQueriesContext(connection) as queries:
        insert_rows([])
    assert len(queries) == 0


def test_row_update_writes_what_save_with_update_fields_writes(world):
    from django.db import DatabaseError

    from inbox.models import Conversation
    from scrm.db import row_update

    theirs = conversation_with_messages(world.shop_a1)
    mine = conversation_with_messages(world.shop_a1)
    for conversation in (theirs, mine):
        conversation.last_message_preview = "a sealed preview"  # encrypted for its row
        conversation.unread_count = 7
        conversation.assignee_id = world.agent_a1.pk
    before = Conversation.objects.get(pk=mine.pk).updated_at
    fields = ["last_message_preview", "unread_count", "assignee", "updated_at"]
    theirs.save(update_fields=fields)
    with CaptureQueriesContext(connection) as queries:
        row_update(mine, fields)
    # One statement; the same columns as save's, auto_now moved on, the rest left alone
    assert len(queries) == 1 and queries[0]["sql"].startswith("UPDATE")
    a, b = Conversation.objects.get(pk=theirs.pk), Conversation.objects.get(pk=mine.pk)
    assert (
        (b.last_message_preview, b.unread_count, b.assignee_id)
        == (
            a.last_message_preview,
            a.unread_count,
            a.assignee_id,
        )
        == ("a sealed preview", 7, world.agent_a1.pk)
    )
    assert b.updated_at > before and b.updated_at == mine.updated_at
    assert b.platform_conversation_id == mine.platform_conversation_id
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_message_preview FROM inbox_conversation WHERE id = %s", [mine.pk]
        )
        assert "sealed preview" not in str(cursor.fetchone()[0])
    # What it cannot write is refused; a row gone is the error save raises
    with pytest.raises(ValueError):
        row_update(mine, ["id"])
    with pytest.raises(ValueError):
        row_update(mine, ["no_such_field"])
    mine.unread_count = F("unread_count") + 1
    with pytest.raises(TypeError, match="an expression"):
        row_update(mine, ["unread_count"])
    gone = Conversation.objects.get(pk=theirs.pk)
    Conversation.objects.filter(pk=gone.pk).delete()
    with pytest.raises(DatabaseError):
        row_update(gone, ["unread_count"])


def test_the_change_feeds_transaction_id_is_the_inserting_transactions(world):
    from django.db import transaction

    from scrm.events import _txid_in_insert

    if connection.vendor != "postgresql":
        assert _txid_in_insert() == {}  # SQLite's rows have none
        return
    with transaction.atomic():
        event = InboxEvent(organisation_id=world.org_a.id, type="message.created", data={})
        insert_rows([event], sql_values=_txid_in_insert())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            (current,) = cursor.fetchone()
    assert InboxEvent.objects.get(pk=event.pk).txid == current
