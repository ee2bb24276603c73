"""Orders: read through Get Order Detail when a case, an order card in the chat or the buyer
panel needs one, and kept for a while.

Invariants kept here:
- one ``Order`` row per (shop account, platform order id), upserted from each read;
- an order is read from the platform only when it is missing or stale: open orders after
  ``SCRM_ORDER_FRESH_SECONDS`` (5 minutes), settled ones (``SETTLED_STATUSES``) after
  ``SCRM_ORDER_SETTLED_FRESH_SECONDS`` (a day); the stale ones of one need are read together,
  at most 50 ids a call (the adapter's batching);
- a failing platform never fails the need: what is stored (even stale) is returned, and the
  error is logged by class and code only;
- every read teaches the buyer mapping: the order's buyer ``user_id`` is the customer's
  ``platform_user_id`` (``aftersales.customer_for_user_id``); when the order was named in a
  chat (an order card), that chat's customer learns the ``user_id`` if it had none;
- the recipient (name, phone, address, e-mail) is encrypted at rest (``EncryptedTextField``)
  and never logged; the address is stored as ``recipient_json`` (the full address and the
  coarse places masking shows, ``inbox.masking``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from inbox.models import Customer, Order, ShopAccount
from inbox.platforms.base import PlatformError, PlatformOrder, PlatformRecipient, ShopApi
from inbox.platforms.base import is_platform_id as _is_platform_id
from inbox.services.aftersales import customer_for_user_id
from inbox.services.ingestion import shop_api

logger = logging.getLogger(__name__)

# Statuses after which an order hardly changes: kept the longer time.
SETTLED_STATUSES = frozenset({"COMPLETED", "CANCELLED"})


def recipient_json(recipient: PlatformRecipient) -> str:
    """The stored form of the recipient's address (encrypted): the full address as the
    platform gives it, and the city, region, country and postal code masking may show."""
    return json.dumps(
        {
            "full_address": recipient.full_address,
            "city": recipient.city,
            "region": recipient.region,
            "region_code": recipient.region_code,
            "postal_code": recipient.postal_code,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def order_is_fresh(order: Order, *, now: datetime | None = None) -> bool:
    """Whether a stored order may be shown without reading it again (module docstring)."""
    now = now or timezone.now()
    seconds = (
        settings.SCRM_ORDER_SETTLED_FRESH_SECONDS
        if order.status in SETTLED_STATUSES
        else settings.SCRM_ORDER_FRESH_SECONDS
    )
    return order.fetched_at > now - timedelta(seconds=seconds)


def _fields(order: PlatformOrder, now: datetime) -> dict[str, object]:
    recipient = order.recipient
    return {
        "buyer_user_id": order.buyer_user_id[:128],
        "status": order.status[:64],
        "currency": order.currency[:8],
        "total_amount": order.total_amount[:32],
        "lines": [
            {
                "line_item_id": line.line_item_id,
                "sku_id": line.sku_id,
                "seller_sku": line.seller_sku,
                "product_id": line.product_id,
                "product_name": line.product_name,
                "sku_name": line.sku_name,
                "sale_price": line.sale_price,
                "currency": line.currency,
                "image_url": line.image_url,
            }
            for line in order.lines
        ],
        "recipient_name": recipient.name if recipient else "",
        "recipient_phone": recipient.phone if recipient else "",
        "recipient_address": recipient_json(recipient) if recipient else "",
        "recipient_email": recipient.email if recipient else "",
        "platform_created_at": order.create_time,
        "platform_updated_at": order.update_time,
        "fetched_at": now,
    }


def _learn_buyer(
    shop: ShopAccount, order: PlatformOrder, chat_customer: Customer | None
) -> Customer | None:
    """The order's customer, teaching the chat's customer its ``user_id`` when it had none."""
    user_id = order.buyer_user_id
    if not user_id or not _is_platform_id(user_id):
        return chat_customer
    if chat_customer is not None:
        if not chat_customer.platform_user_id:
            chat_customer.platform_user_id = user_id
            chat_customer.save(update_fields=["platform_user_id"])
        if chat_customer.platform_user_id == user_id:
            return chat_customer
    return customer_for_user_id(
        organisation_id=shop.organisation_id, platform=shop.platform, user_id=user_id
    )


def _learn_from_stored(chat_customer: Customer, orders: list[Order]) -> None:
    """A chat buyer learns the ``user_id`` of an order their chat names that is stored
    already (read for a case before the card came)."""
    if chat_customer.platform_user_id:
        return
    user_id = next((o.buyer_user_id for o in orders if _is_platform_id(o.buyer_user_id)), "")
    if user_id:
        chat_customer.platform_user_id = user_id
        chat_customer.save(update_fields=["platform_user_id"])


@transaction.atomic
def order_store(
    *, shop: ShopAccount, order: PlatformOrder, chat_customer: Customer | None = None
) -> Order:
    """Upsert one order as the platform showed it now (one row per shop and order id), linked
    to its buyer; ``chat_customer`` is the buyer of the chat that named the order, if any."""
    now = timezone.now()
    customer = _learn_buyer(shop, order, chat_customer)
    fields = {**_fields(order, now), "customer": customer}
    keys = {"shop_account": shop, "platform_order_id": order.order_id}
    row = Order.objects.select_for_update().filter(**keys).first()
    if row is None:
        try:
            with transaction.atomic():
                return Order.objects.create(**keys, organisation_id=shop.organisation_id, **fields)
        except IntegrityError:  # stored concurrently: update theirs
            row = Order.objects.select_for_update().get(**keys)
    if customer is None:
        fields["customer"] = row.customer  # a buyer once linked stays linked
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


def orders_store(
    *, shop: ShopAccount, orders: Iterable[PlatformOrder], chat_customer: Customer | None = None
) -> dict[str, Order]:
    """Store orders read from the platform; order id -> stored row."""
    return {
        o.order_id: order_store(shop=shop, order=o, chat_customer=chat_customer) for o in orders
    }


def orders_for(
    *,
    shop: ShopAccount,
    order_ids: Sequence[str],
    api: ShopApi | None = None,
    chat_customer: Customer | None = None,
    now: datetime | None = None,
) -> dict[str, Order]:
    """The shop's orders of these ids (order id -> row): stored ones while fresh, the others
    read through Get Order Detail in one batched read (50 ids a call) and stored. Ids that
    are not platform ids are left out; orders the platform does not know are absent."""
    wanted = list(dict.fromkeys(i for i in order_ids if _is_platform_id(i)))
    if not wanted:
        return {}
    stored = {
        o.platform_order_id: o
        for o in Order.objects.filter(shop_account=shop, platform_order_id__in=wanted)
    }
    stale = [i for i in wanted if i not in stored or not order_is_fresh(stored[i], now=now)]
    if chat_customer is not None:
        _learn_from_stored(chat_customer, [o for i, o in stored.items() if i not in stale])
    if not stale:
        return stored
    try:
        read = (api or shop_api(shop)).get_orders(stale)
    except PlatformError as exc:
        logger.warning(
            "orders of shop %s not read, stored copies shown: %s code %s",
            shop.pk,
            type(exc).__name__,
            exc.code,
        )
        return stored
    return {**stored, **orders_store(shop=shop, orders=read, chat_customer=chat_customer)}


def order_get(
    *,
    shop: ShopAccount,
    order_id: str,
    api: ShopApi | None = None,
    chat_customer: Customer | None = None,
) -> Order | None:
    """One order of the shop (``orders_for`` for one id); None when the platform does not
    know it and nothing is stored."""
    return orders_for(shop=shop, order_ids=[order_id], api=api, chat_customer=chat_customer).get(
        order_id
    )
