"""``scrm.db.insert_values``: the store's many small rows (search tokens) as plain tuples, no
model instance a row (issue 18). It must write the rows ``insert_rows`` writes, in one
statement whose text does not depend on the number of rows on PostgreSQL, split by SQLite's
parameter limit there, go with the next statement when deferred, and refuse a row or a column
list it cannot write."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inbox.models import CustomerSearchToken, MessageToken
from scrm.db import insert_rows, insert_values, writes_deferred
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"
COLUMNS = ("shop_account_id", "message_id", "token")


def _stored(tokens) -> list[tuple[int, int, int]]:
    return sorted(MessageToken.objects.filter(token__in=list(tokens)).values_list(*COLUMNS))


def test_rows_are_written_as_insert_rows_writes_them(world):
    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    shop = world.shop_a1.pk
    tokens = [-(2**63), 0, 7, 2**63 - 1]  # a blind token is any signed 64-bit integer
    insert_rows(
        [MessageToken(shop_account_id=shop, message_id=message.pk, token=t) for t in tokens]
    )
    theirs = _stored(tokens)
    MessageToken.objects.filter(token__in=tokens).delete()
    with CaptureQueriesContext(connection) as queries:
        insert_values(MessageToken, COLUMNS, [(shop, message.pk, t) for t in tokens])
    assert len(queries) == 1
    assert _stored(tokens) == theirs == sorted((shop, message.pk, t) for t in tokens)


def test_on_postgresql_the_statement_is_the_same_for_any_number_of_rows(world):
    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    shop = world.shop_a1.pk
    texts, written = [], []
    for count in (1, 5, 1_200):  # 1,200 rows of three: past SQLite's 999 parameters
        values = [count * 10_000 + n for n in range(count)]
        written += values
        with CaptureQueriesContext(connection) as queries:
            insert_values(MessageToken, COLUMNS, [(shop, message.pk, t) for t in values])
        texts.append([q["sql"] for q in queries.captured_queries])
    assert len(_stored(written)) == 1 + 5 + 1_200
    if POSTGRES:
        assert all(len(t) == 1 for t in texts)
        # The text before the values is one for all (the arrays are its only parameters)
        heads = {t[0].split("unnest(")[0] for t in texts}
        assert len(heads) == 1 and heads.pop().endswith("SELECT * FROM ")
    else:
        limit = connection.features.max_query_params
        assert len(texts[2]) == (4 if limit == 999 else 1)


def test_deferred_rows_go_with_the_next_statement(world):
    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    shop = world.shop_a1.pk
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        with writes_deferred():
            insert_values(MessageToken, COLUMNS, [(shop, message.pk, 4242)], defer=True)
            insert_values(
                CustomerSearchToken,
                ("organisation_id", "customer_id", "token"),
                [(world.org_a.pk, conversation.customer_id, 4343)],
                defer=True,
            )
            seen_inside = MessageToken.objects.filter(token=4242).exists()
            insert_rows([MessageToken(shop_account_id=shop, message_id=message.pk, token=4444)])
        assert MessageToken.objects.filter(token__in=[4242, 4444]).count() == 2
        assert CustomerSearchToken.objects.filter(token=4343).count() == 1
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    if POSTGRES:
        # Nothing of the deferred rows before the next INSERT, which carried both
        assert not seen_inside
        assert len(writes) == 1 and writes[0].count("; ") == 2
    else:
        assert seen_inside and len(writes) == 3


def test_what_it_cannot_write_is_refused_before_anything_is_written(world):
    conversation = conversation_with_messages(world.shop_a1)
    message = conversation.messages.first()
    shop = world.shop_a1.pk
    with pytest.raises(ValueError, match="token"):
        insert_values(MessageToken, ("shop_account_id", "message_id"), [(shop, message.pk)])
    with pytest.raises(ValueError, match="each once"):
        insert_values(MessageToken, (*COLUMNS, "token"), [(shop, message.pk, 1, 1)])
    with pytest.raises(ValueError, match="3 values a row"):
        insert_values(MessageToken, COLUMNS, [(shop, message.pk, 1), (shop, message.pk)])
    assert _stored([1]) == []
