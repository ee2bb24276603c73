"""A webhook task's conversations are read from the platform first, then stored in one
transaction (``inbox.services.ingestion.conversations_store``): one feed INSERT and one push
for all of them. A conversation whose store fails rolls the others back only for a moment: they
are stored again one by one, and the failing one is retried, never stored twice."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbox.models import Conversation, InboxEvent, Message, WebhookEvent, WebhookEventStatus
from inbox.tasks import process_webhook_events
from tests.inbox.test_webhook_handlers import _new_conversations, _signed
from tests.inbox.test_webhook_ingress import _acked_in_services_mode
from tests.statements import statements_of

pytestmark = pytest.mark.django_db(transaction=True)

BUYERS = ["b1", "b2", "b3", "b4", "b5"]


def _second_messages(
    platform, shop, buyers: list[str]
) -> tuple[list[int], dict[str, str], dict[str, str]]:
    """Each buyer writes again; the notifications acknowledged, their batch left to the test.
    Returns the event ids, each buyer's new platform message id and conversation id."""
    bodies, message_ids, conversations = [], {}, {}
    for buyer in buyers:
        conversation_id, message_id = platform.sim.buyer_message(
            shop.platform_shop_id, buyer_user_id=buyer, nickname=buyer, text="still there?"
        )
        message_ids[buyer], conversations[buyer] = message_id, conversation_id
        data = {"conversation_id": conversation_id, "message_id": message_id}
        bodies.append(_signed(shop, 14, f"again-{shop.pk}-{buyer}", data)[1])
    return _acked_in_services_mode(bodies), message_ids, conversations


def _feed_inserts(captured) -> int:
    return sum(1 for s in statements_of(captured) if s.startswith('INSERT INTO "inbox_inboxevent"'))


def test_a_batchs_conversations_are_stored_together_each_message_once(world, platform):
    shop = world.shop_a1
    # Given five buyers' conversations, each with a first message stored
    first = _new_conversations(platform, shop, BUYERS)
    assert process_webhook_events.apply(args=[first]).get() == {"processed": 5}
    # When each buyer writes again and one task processes the five notifications
    ids, message_ids, conversations = _second_messages(platform, shop, BUYERS)
    with CaptureQueriesContext(connection) as captured:
        assert process_webhook_events.apply(args=[ids]).get() == {"processed": 5}
    # Then each new message is stored once, in its conversation, the events all marked processed
    for buyer in BUYERS:
        conversation = Conversation.objects.get(
            shop_account=shop, platform_conversation_id=conversations[buyer]
        )
        assert conversation.messages.count() == 2
        assert Message.objects.filter(platform_message_id=message_ids[buyer]).count() == 1
        assert conversation.last_message_preview == "still there?"
    assert set(WebhookEvent.objects.filter(id__in=ids).values_list("status", flat=True)) == {
        WebhookEventStatus.PROCESSED
    }
    # and the five conversations' events (a message and a queue row each) went into the change
    # feed by one INSERT (five, one a conversation, when each was its own transaction)
    assert _feed_inserts(captured) == 1
    created = InboxEvent.objects.filter(type="message.created", shop_account=shop)
    assert created.count() == 10


@pytest.fixture
def message_refused(world):
    """The database refuses one platform message id (a trigger: a real failure inside the
    store's transaction, as a constraint or a deadlock would be)."""
    refused: list[str] = []

    def refuse(platform_message_id: str) -> None:
        refused.append(platform_message_id)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "CREATE OR REPLACE FUNCTION scrm_test_refuse() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.platform_message_id = '{platform_message_id}' THEN "
                    "RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ "
                    "LANGUAGE plpgsql"
                )
                cursor.execute(
                    "CREATE TRIGGER scrm_test_refuse BEFORE INSERT ON inbox_message "
                    "FOR EACH ROW EXECUTE FUNCTION scrm_test_refuse()"
                )
            else:
                cursor.execute(
                    "CREATE TRIGGER scrm_test_refuse BEFORE INSERT ON inbox_message "
                    f"WHEN NEW.platform_message_id = '{platform_message_id}' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )

    def allow() -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("DROP TRIGGER IF EXISTS scrm_test_refuse ON inbox_message")
                cursor.execute("DROP FUNCTION IF EXISTS scrm_test_refuse()")
            else:  # SQLite's DROP TRIGGER names no table
                cursor.execute("DROP TRIGGER IF EXISTS scrm_test_refuse")

    refuse.allow = allow  # type: ignore[attr-defined]
    yield refuse
    allow()


def test_a_conversation_that_fails_costs_the_others_nothing_and_is_stored_once_later(
    world, platform, message_refused
):
    shop = world.shop_a1
    first = _new_conversations(platform, shop, BUYERS)
    assert process_webhook_events.apply(args=[first]).get() == {"processed": 5}
    ids, message_ids, conversations = _second_messages(platform, shop, BUYERS)
    # Given the database refuses the third buyer's new message
    message_refused(message_ids["b3"])
    # When the task processes the five notifications
    outcome = process_webhook_events.apply(args=[ids]).get()
    # Then the four others are stored, once each, and marked processed; the refused one is
    # left for its retry (not stored, not marked), nothing of it half-written
    assert outcome == {"processed": 4, "retrying": 1}
    for buyer in ["b1", "b2", "b4", "b5"]:
        assert Message.objects.filter(platform_message_id=message_ids[buyer]).count() == 1
    assert not Message.objects.filter(platform_message_id=message_ids["b3"]).exists()
    refused_event = WebhookEvent.objects.get(id=ids[BUYERS.index("b3")])
    assert refused_event.status == WebhookEventStatus.RECEIVED
    others = WebhookEvent.objects.filter(id__in=ids).exclude(id=refused_event.id)
    assert set(others.values_list("status", flat=True)) == {WebhookEventStatus.PROCESSED}
    b3 = Conversation.objects.get(shop_account=shop, platform_conversation_id=conversations["b3"])
    assert b3.messages.count() == 1 and b3.last_message_preview == "hello"
    # When the database accepts it again and the event is processed again (its retry, or the
    # stale sweep's)
    message_refused.allow()
    assert process_webhook_events.apply(args=[[refused_event.id]]).get() == {"processed": 1}
    # Then it is stored once, and the whole batch processed again (its events redelivered,
    # as if never marked) stores nothing twice
    assert Message.objects.filter(platform_message_id=message_ids["b3"]).count() == 1
    WebhookEvent.objects.filter(id__in=ids).update(status=WebhookEventStatus.RECEIVED)
    assert process_webhook_events.apply(args=[ids]).get() == {"processed": 5}
    for buyer in BUYERS:
        assert Message.objects.filter(platform_message_id=message_ids[buyer]).count() == 1


def test_a_batch_locks_stored_conversations_in_id_order(world, platform):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite locks the whole database for a write, not rows")
    shop = world.shop_a1
    # Given five conversations stored one by one, so that their ids run against the order of
    # their platform ids
    ids = _new_conversations(platform, shop, BUYERS)
    for event_id in reversed(ids):
        assert process_webhook_events.apply(args=[[event_id]]).get() == {"processed": 1}
    by_id = list(
        Conversation.objects.filter(shop_account=shop)
        .order_by("id")
        .values_list("platform_conversation_id", flat=True)
    )
    assert by_id != sorted(by_id)
    # When each buyer writes again and one task stores the five together
    ids, _, _ = _second_messages(platform, shop, BUYERS)
    with CaptureQueriesContext(connection) as captured:
        assert process_webhook_events.apply(args=[ids]).get() == {"processed": 5}
    # Then their rows were locked in id order, as every other writer of several conversations
    # (bulk actions, the SLA recompute) locks them, so that none waits on the other in a circle
    locks = [s for s in statements_of(captured) if "inbox_conversation" in s and "FOR UPDATE" in s]
    locked = [next(p for p in by_id if f"'{p}'" in sql) for sql in locks]
    assert locked == by_id
