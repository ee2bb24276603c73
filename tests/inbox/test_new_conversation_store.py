"""A new buyer's conversation is stored in fewer round trips: the first page's read of the
synced messages also says whether the conversation is stored (so a missing one is not looked
for again under the lock), and the buyer is inserted before being looked for. Whatever races
those guesses lose, each conversation, buyer and message is stored once."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbox.models import Conversation, Customer, Message
from inbox.platforms.base import Participant, PlatformMessage
from inbox.services.ingestion import conversation_sync, messages_store
from inbox.tasks import process_webhook_events
from tests.inbox.test_webhook_handlers import _new_conversations
from tests.statements import statements_of

pytestmark = pytest.mark.django_db(transaction=True)


_FIRST_TABLE = re.compile(r'^\(*\s*SELECT\b.*?\bFROM\s+"?([a-z_0-9]+)"?', re.IGNORECASE | re.DOTALL)


def _reads_of(captured, table: str) -> list[str]:
    """The statements that read ``table`` first (a union read names another table first)."""
    out = []
    for sql in statements_of(captured):
        found = _FIRST_TABLE.match(sql)
        if found and found.group(1) == table:
            out.append(sql)
    return out


def test_new_buyers_conversations_are_stored_without_reads_of_the_conversation_or_buyer(
    world, platform
):
    shop = world.shop_a1
    # Given two new buyers write to a shop, notified in one batch
    ids = _new_conversations(platform, shop, ["nb1", "nb2"])
    # When a worker processes it
    with CaptureQueriesContext(connection) as captured:
        assert process_webhook_events.apply(args=[ids]).get() == {"processed": 2}
    # Then each buyer has one conversation with their message, in the queue
    conversations = Conversation.objects.filter(shop_account=shop)
    assert sorted(c.customer.display_name for c in conversations) == ["nb1", "nb2"]
    for conversation in conversations:
        assert [m.text for m in Message.objects.filter(conversation=conversation)] == ["hello"]
        assert conversation.unread_count == 1
    # And neither the conversation (under its lock) nor the buyer was looked for before being
    # inserted: the synced read said the conversation was not stored, and the buyer's insert
    # found no one
    assert _reads_of(captured, "inbox_conversation") == []
    assert _reads_of(captured, "inbox_customer") == []


def test_a_buyer_known_from_another_shop_is_found_by_the_insert_and_kept(world, platform):
    a1, a2 = world.shop_a1, world.shop_a2
    # Given a buyer wrote to one shop, and an agent noted their real name
    ids = _new_conversations(platform, a1, ["twice"])
    process_webhook_events.apply(args=[ids]).get()
    buyer = Conversation.objects.get(shop_account=a1).customer
    buyer.real_name = "Ada Lovelace"
    buyer.save(update_fields=["real_name"])
    # When the same buyer writes to the organisation's other shop
    ids = _new_conversations(platform, a2, ["twice"])
    assert process_webhook_events.apply(args=[ids]).get() == {"processed": 1}
    # Then the new conversation is theirs, one buyer for both shops, their profile kept
    same = Customer.objects.filter(organisation=world.org_a, im_user_id=buyer.im_user_id)
    assert same.count() == 1
    conversation = Conversation.objects.get(shop_account=a2)
    assert conversation.customer_id == buyer.pk
    buyer.refresh_from_db()
    assert buyer.real_name == "Ada Lovelace"


def test_a_conversation_stored_after_the_read_takes_the_messages(world, platform):
    shop = world.shop_a1
    # Given a conversation stored with its first message
    conversation_id, _ = platform.sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="race", nickname="race", text="first"
    )
    assert conversation_sync(shop=shop, conversation_id=conversation_id) == 1
    stored = Conversation.objects.get(shop_account=shop, platform_conversation_id=conversation_id)
    # When a store still believes the conversation missing (another sync stored it after this
    # one's read) and stores a new message
    from datetime import UTC, datetime

    later = PlatformMessage(
        message_id="race-2",
        conversation_id=conversation_id,
        index="2",
        type="TEXT",
        content={"content": "second"},
        create_time=datetime.now(UTC),
        sender=Participant(role="BUYER", im_user_id=stored.customer.im_user_id, nickname="race"),
        is_visible=True,
    )
    assert messages_store(shop=shop, conversation_id=conversation_id, messages=[later], absent=True)
    # Then the message joins the stored conversation: one conversation, one buyer, both messages
    assert Conversation.objects.filter(platform_conversation_id=conversation_id).count() == 1
    assert Customer.objects.filter(im_user_id=stored.customer.im_user_id).count() == 1
    texts = Message.objects.filter(conversation=stored).order_by("sent_at", "id")
    assert [m.text for m in texts] == ["first", "second"]
    stored.refresh_from_db()
    assert (stored.unread_count, stored.last_message_preview) == (2, "second")


def test_a_new_conversation_longer_than_a_page_is_stored_whole(world, platform):
    shop = world.shop_a1
    # Given a buyer wrote 23 messages before the shop's first sync of the conversation (the
    # platform gives 10 a page)
    conversation_id = ""
    for n in range(23):
        conversation_id, _ = platform.sim.buyer_message(
            shop.platform_shop_id, buyer_user_id="long", nickname="long", text=f"m{n}"
        )
    # When it is synced
    assert conversation_sync(shop=shop, conversation_id=conversation_id) == 23
    # Then every page was read and stored once
    conversation = Conversation.objects.get(platform_conversation_id=conversation_id)
    assert Message.objects.filter(conversation=conversation).count() == 23
    assert conversation.unread_count == 23
    assert conversation_sync(shop=shop, conversation_id=conversation_id) == 0
