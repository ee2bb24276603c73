"""TikTok Shop orders: Get Order Detail (docs/platforms/tiktok-shop.md §4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inbox.platforms.base import (
    PlatformOrder,
    PlatformOrderLine,
    PlatformRecipient,
    is_platform_id,
    platform_id,
)
from inbox.platforms.tiktok_shop.adapter_common import dicts, utc_from_unix, warn_skipped
from inbox.platforms.tiktok_shop.client import TikTokShopClient

ORDERS_PATH = "/order/202507/orders"
MAX_ORDER_IDS = 50  # Get Order Detail: at most 50 ids a call


class OrderCalls:
    """The orders half of ``base.ShopApi``."""

    client: TikTokShopClient

    def get_orders(self, order_ids: Sequence[str]) -> list[PlatformOrder]:
        wanted = list(dict.fromkeys(platform_id(i, "order_id") for i in order_ids))
        orders: list[PlatformOrder] = []
        for start in range(0, len(wanted), MAX_ORDER_IDS):
            chunk = wanted[start : start + MAX_ORDER_IDS]
            data = self.client.call("GET", ORDERS_PATH, params={"ids": ",".join(chunk)})
            found = [order_from(o) for o in dicts(data.get("orders"))]
            valid = [o for o in found if is_platform_id(o.order_id)]
            warn_skipped("orders", len(found) - len(valid))
            orders += valid
        return orders


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    return value.strip() if isinstance(value, str) else ""


def recipient_from(raw: Mapping[str, Any]) -> PlatformRecipient | None:
    """The order's ``recipient_address`` and ``buyer_email`` (personal data; never logged).
    The city is the district level named "City" (else level L2), the region level L1."""
    address = raw.get("recipient_address")
    if not isinstance(address, dict):
        address = {}
    levels = {_text(d, "address_level"): d for d in dicts(address.get("district_info"))}
    named_city = [d for d in levels.values() if _text(d, "address_level_name").lower() == "city"]
    city = named_city[0] if named_city else levels.get("L2", {})
    name = _text(address, "name") or " ".join(
        filter(None, (_text(address, "first_name"), _text(address, "last_name")))
    )
    recipient = PlatformRecipient(
        name=name,
        phone=_text(address, "phone_number"),
        full_address=_text(address, "full_address") or _text(address, "address_detail"),
        email=_text(raw, "buyer_email"),
        city=_text(city, "address_name"),
        region=_text(levels.get("L1", {}), "address_name"),
        region_code=_text(address, "region_code"),
        postal_code=_text(address, "postal_code"),
    )
    return recipient if any(vars(recipient).values()) else None


def order_from(raw: Mapping[str, Any]) -> PlatformOrder:
    """An order as the inbox keeps it; the recipient is personal data (``recipient_from``)."""
    raw_payment = raw.get("payment")
    payment: Mapping[str, Any] = raw_payment if isinstance(raw_payment, dict) else {}
    currency = str(payment.get("currency") or "")
    return PlatformOrder(
        order_id=str(raw.get("id") or ""),
        status=str(raw.get("status") or ""),
        buyer_user_id=str(raw.get("user_id") or ""),
        currency=currency,
        total_amount=str(payment.get("total_amount") or "0"),
        lines=tuple(
            PlatformOrderLine(
                line_item_id=str(line.get("id") or ""),
                sku_id=str(line.get("sku_id") or ""),
                product_id=str(line.get("product_id") or ""),
                product_name=str(line.get("product_name") or ""),
                sku_name=str(line.get("sku_name") or ""),
                sale_price=str(line.get("sale_price") or "0"),
                currency=str(line.get("currency") or currency),
                seller_sku=str(line.get("seller_sku") or ""),
                image_url=str(line.get("sku_image") or ""),
            )
            for line in dicts(raw.get("line_items"))
        ),
        create_time=utc_from_unix(raw.get("create_time")),
        update_time=utc_from_unix(raw.get("update_time")),
        recipient=recipient_from(raw),
    )
