"""The queue's display fields (last message, its preview, the buyer's last message time) and the
wait, taken from a stored batch without reading the messages back (issue 18), must be what
reading them gives, whatever order messages arrive in: new conversations, follow-ups, a late
older message, hidden messages, answers (in the buyer's very second too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Max

from inbox.models import Conversation, DeliveryState, Direction, Message
from inbox.platforms.base import Participant, PlatformMessage
from inbox.services.conversation_state import _waiting_since
from inbox.services.ingestion import messages_store

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
CONVERSATION = "conv-refresh-1"


def _pm(n: int, role: str, text: str, minutes: int, *, visible: bool = True, index: str = ""):
    return PlatformMessage(
        message_id=f"m-{n}",
        conversation_id=CONVERSATION,
        type="TEXT",
        content={"content": text},
        create_time=T0 + timedelta(minutes=minutes),
        sender=Participant(role=role, im_user_id="im-buyer-1" if role == "BUYER" else "im-cs"),
        index=index,
        is_visible=visible,
    )


def _store(shop, *messages: PlatformMessage) -> Conversation:
    messages_store(shop=shop, conversation_id=CONVERSATION, messages=list(messages))
    return Conversation.objects.get(shop_account=shop, platform_conversation_id=CONVERSATION)


def _as_read(conversation: Conversation) -> tuple:
    """What the fields are when computed from the stored messages."""
    visible = Message.objects.filter(conversation=conversation, is_visible=True)
    last = visible.order_by("-sent_at", "-platform_index", "-id").first()
    buyer = visible.filter(direction=Direction.INBOUND).aggregate(t=Max("sent_at"))["t"]
    return (last.sent_at, last.text, buyer, _waiting_since(conversation))


def _shown(conversation: Conversation) -> tuple:
    return (
        conversation.last_message_at,
        conversation.last_message_preview,
        conversation.last_buyer_message_at,
        conversation.waiting_since,
    )


def test_the_fields_from_a_batch_are_those_the_messages_give(world):
    shop = world.shop_a1
    # A new conversation: two buyer messages and a hidden one, newest last by index on a tie
    conversation = _store(
        shop,
        _pm(1, "BUYER", "hello", 0, index="1"),
        _pm(2, "BUYER", "where is my order", 5, index="2"),
        _pm(3, "BUYER", "hidden words", 9, visible=False, index="3"),
    )
    assert _shown(conversation) == _as_read(conversation)
    assert conversation.last_message_preview == "where is my order"
    # A follow-up, newer than everything
    conversation = _store(shop, _pm(4, "BUYER", "any news?", 20))
    assert _shown(conversation) == _as_read(conversation)
    assert conversation.last_message_preview == "any news?"
    # The seller answers (newest now), the buyer's time stays
    conversation = _store(shop, _pm(5, "CUSTOMER_SERVICE", "it ships today", 30))
    assert _shown(conversation) == _as_read(conversation)
    assert conversation.last_buyer_message_at == T0 + timedelta(minutes=20)
    # A late message older than the last one: the last stays, the buyer's time is the newest
    conversation = _store(shop, _pm(6, "BUYER", "sent long ago", 10))
    assert _shown(conversation) == _as_read(conversation)
    assert conversation.last_message_preview == "it ships today"
    # Only a hidden message arrives: nothing shown changes
    conversation = _store(shop, _pm(7, "BUYER", "hidden again", 40, visible=False))
    assert _shown(conversation) == _as_read(conversation)
    # Two new ones at the same second: the platform's index decides, as the timeline does
    conversation = _store(
        shop, _pm(8, "BUYER", "second", 50, index="9"), _pm(9, "BUYER", "first", 50, index="8")
    )
    assert _shown(conversation) == _as_read(conversation)
    assert conversation.last_message_preview == "second"
    assert conversation.waiting_since == T0 + timedelta(minutes=50)
    # An answer and, in the same batch, the buyer again in the answer's second: still waiting
    conversation = _store(
        shop,
        _pm(10, "CUSTOMER_SERVICE", "sorry for the wait", 60, index="1"),
        _pm(11, "BUYER", "thanks", 60, index="2"),
    )
    assert _shown(conversation) == _as_read(conversation)
    assert conversation.waiting_since == T0 + timedelta(minutes=60)
    # An answer alone: nobody waits; then the buyer writes again and waits from then
    conversation = _store(shop, _pm(12, "CUSTOMER_SERVICE", "done", 70))
    assert _shown(conversation) == _as_read(conversation)
    assert conversation.waiting_since is None
    conversation = _store(shop, _pm(13, "BUYER", "one more thing", 80))
    assert _shown(conversation) == _as_read(conversation)
    assert conversation.waiting_since == T0 + timedelta(minutes=80)


def test_a_new_conversation_opened_by_the_seller_waits_from_the_buyer_answer(world):
    conversation = _store(
        world.shop_a1,
        _pm(1, "CUSTOMER_SERVICE", "your parcel is delayed", 0),
        _pm(2, "BUYER", "how long?", 3),
        _pm(3, "CUSTOMER_SERVICE", "two days", 4),
    )
    assert _shown(conversation) == _as_read(conversation)
    assert conversation.waiting_since is None


def test_a_new_conversation_of_hidden_messages_only_shows_no_buyer_time(world):
    conversation = _store(world.shop_a1, _pm(1, "BUYER", "hidden", 0, visible=False))
    assert conversation.last_buyer_message_at is None
    assert not Message.objects.filter(conversation=conversation, is_visible=True).exists()


def test_a_reply_of_ours_still_pending_stays_the_last_message_when_an_older_buyer_message_arrives(
    world,
):
    shop = world.shop_a1
    conversation = _store(shop, _pm(1, "BUYER", "hello", 0))
    # Our reply, stored as message_send stores it: visible, pending, timed when submitted,
    # the conversation not refreshed
    Message.objects.create(
        conversation=conversation,
        shop_account=shop,
        direction=Direction.OUTBOUND,
        sender_role="CUSTOMER_SERVICE",
        type="TEXT",
        text="our answer",
        content={"content": "our answer"},
        delivery_state=DeliveryState.PENDING,
        sent_at=T0 + timedelta(minutes=5),
    )
    # A buyer message timed before the reply, after the conversation's last, arrives late
    conversation = _store(shop, _pm(2, "BUYER", "late webhook", 3))
    assert _shown(conversation) == _as_read(conversation)
    assert conversation.last_message_preview == "our answer"
    assert conversation.waiting_since == T0  # a pending reply answers nobody yet
