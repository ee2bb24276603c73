"""Scenarios a review found breaking the invariants (each failed before its fix)."""

from __future__ import annotations

import pytest

from inbox.models import Conversation, Message, OutboxAttempt
from inbox.platforms.tiktok_shop.adapter import SEND_MESSAGE_PATH
from inbox.services.ingestion import shop_backfill
from tests.inbox.builders import deliver, pending_reply, reply_action

pytestmark = pytest.mark.django_db(transaction=True)


def _conversation(platform, shop, text="hi"):
    conv_id, _ = platform.sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="rv", nickname="Rev", text=text
    )
    platform.sim.deliver_webhooks()
    return Conversation.objects.get(platform_conversation_id=conv_id)


def test_buyer_message_behind_our_own_reply_is_still_backfilled(world, platform):
    shop, sim = world.shop_a1, platform.sim
    conv = _conversation(platform, shop)
    # Given the buyer writes again and that webhook is lost
    sim.buyer_message(shop.platform_shop_id, buyer_user_id="rv", nickname="Rev", text="m1 lost")
    sim.deliver_webhooks(drop=1.0)
    # And an agent's reply is delivered, and its echo webhook is lost too
    reply = pending_reply(conv, "On it!", key="rv-1")
    assert deliver(reply) == "sent"
    sim.deliver_webhooks(drop=1.0)
    # When the backfill runs, our reply (the newest message) must not hide the lost one
    shop_backfill(shop=shop)
    timeline = conv.messages.order_by("sent_at", "platform_index", "id")
    texts = [m.text for m in timeline]
    assert texts == ["hi", "m1 lost", "On it!"]
    assert Message.objects.filter(conversation=conv).count() == 3


def test_a_never_attempted_reply_is_not_adopted_by_a_same_text_message(world, platform):
    shop, sim = world.shop_a1, platform.sim
    conv = _conversation(platform, shop)
    # Given a reply "OK" still waiting for its first attempt
    waiting = pending_reply(conv, "OK", key="rv-2")
    # When someone answers "OK" from Seller Center and the platform reports it
    cid = conv.platform_conversation_id
    from inbox.platforms.base import Credentials, OutgoingMessage
    from inbox.platforms.tiktok_shop import TikTokShopAdapter

    shop.refresh_from_db()
    seller_center = TikTokShopAdapter().connect(Credentials.from_dict(shop.credentials))
    seller_center.send_message(cid, OutgoingMessage("TEXT", {"content": "OK"}))
    sim.deliver_webhooks()
    # Then our reply is not marked sent (it never went out), and is still delivered once
    waiting.refresh_from_db()
    assert waiting.delivery_state == "pending"
    assert waiting.platform_message_id is None
    assert deliver(waiting) == "sent"
    assert [m["content"]["content"] for m in sim.sent_messages(shop.platform_shop_id)] == [
        "OK",
        "OK",
    ]


def test_failed_reply_that_did_reach_the_buyer_is_not_sent_again_on_retry(world, platform, api):
    shop, sim = world.shop_a1, platform.sim
    conv = _conversation(platform, shop)
    reply = pending_reply(conv, "Parcel ships today", key="rv-3", author=world.agent_a1)
    # Given the platform took the reply but every answer was lost, and it ended failed
    sim.set_fault(
        SEND_MESSAGE_PATH.format(conversation_id=conv.platform_conversation_id),
        "delay_after",
        delay=0.01,
    )
    from inbox.platforms.base import Credentials, OutgoingMessage
    from inbox.platforms.tiktok_shop import TikTokShopAdapter
    from inbox.services.replies import message_mark_failed

    shop.refresh_from_db()
    TikTokShopAdapter().connect(Credentials.from_dict(shop.credentials)).send_message(
        conv.platform_conversation_id, OutgoingMessage("TEXT", {"content": "Parcel ships today"})
    )
    from django.utils import timezone

    OutboxAttempt.objects.create(
        action=reply_action(reply), started_at=timezone.now(), outcome="retry"
    )
    message_mark_failed(message_id=reply.id, reason="Gave up")
    sim.clear_faults()
    # And its echo was stored by ingestion... as our failed reply, adopted
    sim.deliver_webhooks()
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"
    # and its outbox action says sent too (no failed reply left on the shop's health)
    action = reply_action(reply)
    action.refresh_from_db()
    assert (action.state, action.result, action.failure_reason) == (
        "sent",
        reply.platform_message_id,
        "",
    )
    # So a retry by the agent has nothing to resend
    r = api.as_user(world.agent_a1).post(
        f"/api/v1/conversations/{conv.id}/messages/{reply.id}/retry/"
    )
    assert r.status_code == 409
    assert len(sim.sent_messages(shop.platform_shop_id)) == 1
    assert Message.objects.filter(conversation=conv, direction="out").count() == 1
