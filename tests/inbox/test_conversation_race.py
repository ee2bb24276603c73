"""Workers reading one new conversation at once (a webhook batch, its redelivery and the
backfill) store it once: one conversation, one buyer, each message once. The conversation and
buyer are inserted with ``INSERT … ON CONFLICT DO NOTHING`` (``scrm.db``), the loser reading the
winner's row; PostgreSQL's, as SQLite serialises writers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.db import connection, connections

from inbox.models import Conversation, Customer, Message
from inbox.services.ingestion import conversation_sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_syncs_of_a_new_conversation_store_it_once(world, platform):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need the services mode's database")
    shop, sim = world.shop_a1, platform.sim
    conversation_id, _ = sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="race-buyer", nickname="Rae", text="where is it?"
    )
    sim.buyer_message(
        shop.platform_shop_id, buyer_user_id="race-buyer", nickname="Rae", text="hello??"
    )
    sim.deliver_webhooks(drop=1.0)  # no notification: the workers below are the only readers
    barrier = Barrier(4)

    def read() -> int:
        try:
            barrier.wait(timeout=10)
            return conversation_sync(shop=shop, conversation_id=conversation_id)
        finally:
            connections.close_all()

    # When four workers read the same new conversation at once
    with ThreadPoolExecutor(4) as pool:
        stored = list(pool.map(lambda _: read(), range(4)))
    # Then it is stored once, with one buyer, and each message once (by whichever won)
    assert sorted(stored) == [0, 0, 0, 2]
    conversation = Conversation.objects.get(platform_conversation_id=conversation_id)
    assert Customer.objects.filter(im_user_id=conversation.customer.im_user_id).count() == 1
    assert Message.objects.filter(conversation=conversation).count() == 2
    assert conversation.unread_count == 2
