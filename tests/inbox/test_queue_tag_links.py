"""A tag's view of the queue reads its conversations from the tag's links in queue order
(``conv_tag_queue_open``), whose copies of each conversation's queue position the database
keeps (inbox/tag_links.py): the view is the same as testing each conversation for the tag,
however the conversation changed — a service, a queryset update, a tag added or removed — and
the copies come back right after a migration dropped the triggers (issue 18)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from inbox import tag_links
from inbox.models import Conversation, ConversationTag, Tag
from inbox.models.conversations import ANSWERED_SENTINEL
from inbox.selectors.conversations import QueueFilters, conversations_of_shops
from inbox.selectors.queue import queue_page
from inbox.selectors.queue_rows import shops_shown_for
from inbox.selectors.queue_sources import tag_led
from inbox.services.conversations import conversation_set_status, conversation_tag
from tests.inbox.builders import conversation_with_messages

TAG = QueueFilters(tag="refund")


def _expected(user, filters=TAG) -> list[int]:
    """The view as the per-row tag test reads it (``tagged_q``: EXISTS on the links)."""
    shops = list(shops_shown_for(user))
    return list(conversations_of_shops(user, filters, shops).values_list("id", flat=True))


def _paged(user, filters=TAG, limit=2) -> list[int]:
    """Every conversation of the view, page after page of ``limit``."""
    ids, cursor = [], None
    while True:
        page = queue_page(user, filters, kind="conversations", cursor=cursor, limit=limit)
        ids += [r.item.id for r in page.rows]
        if not page.next_cursor:
            return ids
        cursor = page.next_cursor


def _copies(conversation: Conversation) -> set[tuple]:
    return set(
        ConversationTag.objects.filter(conversation=conversation).values_list(
            "queue_key", "shop_account_id"
        )
    )


@pytest.mark.django_db
def test_the_tag_view_follows_its_conversations_through_every_kind_of_change(world):
    sup = world.supervisor_a
    assert tag_led(TAG, "waiting")  # the view this test is about reads the links
    # Given five conversations of two shops tagged "refund" (waiting 10..50 minutes) and one
    # untagged, tagged by the service as an agent tags them
    chats = [
        conversation_with_messages(
            (world.shop_a1, world.shop_a2)[i % 2], waited=timedelta(minutes=10 * (5 - i))
        )
        for i in range(5)
    ]
    untagged = conversation_with_messages(world.shop_a1, waited=timedelta(hours=3))
    for c in chats:
        conversation_tag(actor=sup, conversation_id=c.id, add=["refund"], remove=[])
    # Then the view lists them longest waiting first, each once across pages
    assert _paged(sup) == _expected(sup) == [c.id for c in chats]
    assert untagged.id not in _paged(sup)
    c0 = Conversation.objects.get(id=chats[0].id)
    assert _copies(c0) == {(c0.queue_key, world.shop_a1.id)}

    # When one is snoozed and another pended (services), one answered (a queryset update of
    # its queue key, as bulk paths do) and one waits longer (its key moves earlier)
    conversation_set_status(
        actor=sup,
        conversation_id=chats[1].id,
        status="snoozed",
        snoozed_until=timezone.now() + timedelta(hours=1),
    )
    conversation_set_status(actor=sup, conversation_id=chats[2].id, status="pending")
    Conversation.objects.filter(id=chats[3].id).update(queue_key=ANSWERED_SENTINEL)
    Conversation.objects.filter(id=chats[4].id).update(queue_key=timezone.now() - timedelta(days=1))
    # Then the view is the per-row test's, in its order: the snoozed one gone, the pending one
    # kept, the answered one last, the longer-waiting one first
    expected = _expected(sup)
    assert _paged(sup) == expected == [chats[4].id, chats[0].id, chats[2].id, chats[3].id]
    assert _copies(Conversation.objects.get(id=chats[1].id)) == {(None, world.shop_a2.id)}

    # When the snoozed one is opened again, a tag is removed from one and added to the other
    conversation_set_status(actor=sup, conversation_id=chats[1].id, status="open")
    conversation_tag(actor=sup, conversation_id=chats[0].id, add=[], remove=["refund"])
    conversation_tag(actor=sup, conversation_id=untagged.id, add=["refund"], remove=[])
    # Then the view follows again, and a view of pending ones only as well
    assert _paged(sup) == _expected(sup)
    assert set(_paged(sup)) == {chats[1].id, chats[2].id, chats[3].id, chats[4].id, untagged.id}
    pending = QueueFilters(tag="refund", statuses=("pending",))
    assert tag_led(pending, "waiting")
    assert _paged(sup, pending) == _expected(sup, pending) == [chats[2].id]


@pytest.mark.django_db
def test_an_agent_sees_the_tags_conversations_of_their_shops_only(world):
    # Given "refund" conversations in shops a1, a2 and in organisation B's shop
    mine = conversation_with_messages(world.shop_a1)
    not_mine = conversation_with_messages(world.shop_a2)
    theirs = conversation_with_messages(world.shop_b1)
    for c, org in ((mine, world.org_a), (not_mine, world.org_a), (theirs, world.org_b)):
        c.tags.add(Tag.objects.get_or_create(organisation=org, name="refund")[0])
    # Then agent_a1 (shop a1) sees only theirs; organisation B's agent only B's
    assert _paged(world.agent_a1) == [mine.id]
    assert _paged(world.agent_b) == [theirs.id]


@pytest.mark.django_db
def test_copies_made_wrong_are_made_right_by_the_database(world):
    # Given a tagged conversation whose link someone writes a wrong copy into
    c = conversation_with_messages(world.shop_a1)
    conversation_tag(actor=world.supervisor_a, conversation_id=c.id, add=["refund"], remove=[])
    ConversationTag.objects.filter(conversation=c).update(
        queue_key=timezone.now() - timedelta(days=9), shop_account_id=world.shop_b1.id
    )
    # Then the copy is still the conversation's (links are computed, never taken)
    c.refresh_from_db()
    assert _copies(c) == {(c.queue_key, world.shop_a1.id)}


@pytest.mark.django_db
def test_after_a_migration_drops_the_triggers_ensure_makes_them_and_the_copies_right(world):
    # Given tagged conversations, then the triggers gone (SQLite drops them when a migration
    # rebuilds a table) while a conversation is answered and another tagged
    a = conversation_with_messages(world.shop_a1, waited=timedelta(hours=2))
    b = conversation_with_messages(world.shop_a1, waited=timedelta(hours=1))
    conversation_tag(actor=world.supervisor_a, conversation_id=a.id, add=["refund"], remove=[])
    tag_links.triggers_drop(connection)
    Conversation.objects.filter(id=a.id).update(queue_key=ANSWERED_SENTINEL)
    b.tags.add(Tag.objects.get(organisation=world.org_a, name="refund"))
    assert _copies(b) == {(None, None)}  # what a link gets with no trigger
    assert _paged(world.supervisor_a) != _expected(world.supervisor_a)
    # When what runs after every migrate runs
    tag_links.ensure(connection)
    # Then every copy is right and the triggers follow changes again
    assert _paged(world.supervisor_a) == _expected(world.supervisor_a) == [b.id, a.id]
    Conversation.objects.filter(id=a.id).update(queue_key=timezone.now() - timedelta(days=1))
    assert _paged(world.supervisor_a) == [a.id, b.id]
    assert tag_links.resync(connection) == 0  # nothing left to set right


@pytest.mark.django_db(transaction=True)
def test_a_tag_added_while_the_conversation_changes_copies_the_change(world):
    """Two writers at once (PostgreSQL; SQLite has one writer at a time): the tag is added
    while another transaction has answered the conversation and not yet committed. Without
    the link's lock on the conversation the link would copy the key from before."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need the services mode's database")
    c = conversation_with_messages(world.shop_a1)
    tag = Tag.objects.create(organisation=world.org_a, name="refund")
    answered, tagging = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def answer() -> None:
        try:
            with transaction.atomic():
                Conversation.objects.filter(id=c.id).update(queue_key=ANSWERED_SENTINEL)
                answered.set()
                tagging.wait(10)
                threading.Event().wait(0.3)  # the tagging transaction is now waiting on us
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            connections.close_all()

    def tag_it() -> None:
        try:
            answered.wait(10)
            tagging.set()
            with transaction.atomic():
                ConversationTag.objects.create(conversation_id=c.id, tag=tag)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=answer), threading.Thread(target=tag_it)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors
    assert _copies(c) == {(ANSWERED_SENTINEL, world.shop_a1.id)}


@pytest.mark.django_db(transaction=True)
def test_migrations_rebuilding_both_tables_run_and_the_copies_come_back(world):
    """SQLite rebuilds a table for most schema changes and checks every trigger as it does:
    with the triggers in place a rebuild of either table failed. ``pre_migrate`` takes them
    away, ``post_migrate`` makes them again and sets every copy right."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL alters tables in place and keeps their triggers")
    a = conversation_with_messages(world.shop_a1, waited=timedelta(hours=2))
    conversation_tag(actor=world.supervisor_a, conversation_id=a.id, add=["refund"], remove=[])
    # When a migrate runs: before it, its rebuilds of both tables, a data change, after it
    tag_links.before_migrate(connection)
    with connection.schema_editor() as editor:
        editor._remake_table(Conversation)
        editor._remake_table(ConversationTag)
    Conversation.objects.filter(id=a.id).update(queue_key=ANSWERED_SENTINEL)
    tag_links.ensure(connection)
    # Then the copy has the change made while the triggers were away, and they follow again
    assert _copies(Conversation.objects.get(id=a.id)) == {(ANSWERED_SENTINEL, world.shop_a1.id)}
    later = timezone.now() - timedelta(days=1)
    Conversation.objects.filter(id=a.id).update(queue_key=later)
    assert _copies(Conversation.objects.get(id=a.id)) == {(later, world.shop_a1.id)}


@pytest.mark.django_db
def test_on_postgresql_a_migrate_leaves_present_triggers_alone(world):
    """A deploy's migrate takes no lock on the tables when the triggers are there."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's check of its triggers")
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        tag_links.ensure(connection)
    ddl = ("CREATE", "DROP", "ALTER")
    assert not [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(ddl)]
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    # and one gone is made again
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER inbox_tag_links_follow ON inbox_conversation")
    tag_links.ensure(connection)
    c = conversation_with_messages(world.shop_a1)
    conversation_tag(actor=world.supervisor_a, conversation_id=c.id, add=["refund"], remove=[])
    Conversation.objects.filter(id=c.id).update(queue_key=ANSWERED_SENTINEL)
    assert _copies(c) == {(ANSWERED_SENTINEL, world.shop_a1.id)}
