"""Builders for the customer profile tests: a buyer with a conversation, orders and cases."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import count

from django.utils import timezone

from inbox.models import Customer, Order, ShopAccount
from inbox.services.search_tokens import customer_tokens_write
from scrm.blind import org_index_for
from tests.inbox.builders import conversation_with_messages

_seq = count(1)


def buyer(shop: ShopAccount, name: str = "Alice Wong", **fields: str) -> Customer:
    """A buyer who wrote to ``shop`` (one conversation), with profile ``fields`` stored as a
    service would (encrypted, search tokens written)."""
    conversation = conversation_with_messages(shop, buyer=name, texts=("Hello, where is it?",))
    customer = conversation.customer
    for key, value in fields.items():
        setattr(customer, key, value)
    if fields:
        customer.save()
        customer_tokens_write(customer, org_index_for(customer.organisation_id))
    return customer


def order_for(
    customer: Customer, shop: ShopAccount, *, order_id: str | None = None, days_ago: int = 1
) -> Order:
    n = next(_seq)
    now = timezone.now()
    return Order.objects.create(
        organisation_id=shop.organisation_id,
        shop_account=shop,
        platform_order_id=order_id or f"58{n:08d}",
        customer=customer,
        status="DELIVERED",
        recipient_name="Alice Wong",
        recipient_phone="+1 415 555 4821",
        recipient_address=json.dumps(
            {"address_line1": "1 Market St", "city": "San Francisco", "region": "California"}
        ),
        platform_created_at=now - timedelta(days=days_ago),
        platform_updated_at=now - timedelta(days=days_ago),
        fetched_at=now,
    )
