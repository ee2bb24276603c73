"""Orders, cancellations and returns in the simulator's state, and their API (JSON) shapes.

Shaped after the models of an independent client generated from TikTok's current OpenAPI
(``tiktok-shop-api`` 0.1.0): a field the platform leaves out is left out, never ``null``.
Everything here is mutated only while holding ``Simulator.lock``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inbox.platforms.tiktok_shop.simulator import deadlines

AVATAR_BASE = "https://example.com/tiktok-simulator"
TWO_DAYS = 2 * 86400

# Return type -> the status a new request starts in (search returns 202602, return_status).
PENDING_STATUS = {
    "REFUND": "RETURN_OR_REFUND_REQUEST_PENDING",
    "RETURN_AND_REFUND": "RETURN_OR_REFUND_REQUEST_PENDING",
    "REPLACEMENT": "REPLACEMENT_REQUEST_PENDING",
    "EXCHANGE": "EXCHANGE_REQUEST_PENDING",
}
RETURN_TYPES = frozenset(PENDING_STATUS)
RETURN_STATUSES = frozenset(
    {
        *PENDING_STATUS.values(),
        "REFUND_OR_RETURN_REQUEST_REJECT",
        "AWAITING_BUYER_SHIP",
        "BUYER_SHIPPED_ITEM",
        "REJECT_RECEIVE_PACKAGE",
        "RETURN_OR_REFUND_REQUEST_SUCCESS",
        "RETURN_OR_REFUND_REQUEST_CANCEL",
        "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "REPLACEMENT_REQUEST_REJECT",
        "REPLACEMENT_REQUEST_REFUND_SUCCESS",
        "REPLACEMENT_REQUEST_CANCEL",
        "REPLACEMENT_REQUEST_COMPLETE",
        "AWAITING_BUYER_RESPONSE",
        "EXCHANGE_REQUEST_REFUND_SUCCESS",
        "EXCHANGE_REQUEST_CANCEL",
        "EXCHANGE_REQUEST_COMPLETE",
    }
)
CANCELLATION_STATUSES = frozenset(
    {
        "CANCELLATION_REQUEST_PENDING",
        "CANCELLATION_REQUEST_SUCCESS",
        "CANCELLATION_REQUEST_CANCEL",
        "CANCELLATION_REQUEST_COMPLETE",
    }
)
# Webhook 11's doc text spells the withdrawn status CANCELLED; Search Cancellations' CANCEL.
WEBHOOK_CANCEL_STATUS = {"CANCELLATION_REQUEST_CANCEL": "CANCELLATION_REQUEST_CANCELLED"}


def money(currency: str, amount: str) -> dict[str, str]:
    """A ``RefundAmount``: the whole amount is the subtotal (no shipping, tax or fees)."""
    return {
        "currency": currency,
        "refund_total": amount,
        "refund_subtotal": amount,
        "refund_shipping_fee": "0",
        "refund_tax": "0",
        "retail_delivery_fee": "0",
        "buyer_service_fee": "0",
    }


# (first name, last name, street, city, state, state code, postal code): fake people and places.
_FAKE_PEOPLE = [
    ("Jane", "Doe", "1 Market St", "San Francisco", "California", "CA", "94105"),
    ("John", "Smith", "350 5th Ave", "New York", "New York", "NY", "10118"),
    ("Maria", "Garcia", "600 Congress Ave", "Austin", "Texas", "TX", "78701"),
    ("Wei", "Chen", "400 Broad St", "Seattle", "Washington", "WA", "98109"),
]


def fake_recipient(buyer_user_id: str) -> dict[str, Any]:
    """A made-up US recipient for a buyer, the same one every time (Get Order Detail 202507's
    ``recipient_address``: name, phone, full address, the address lines and district levels)."""
    digits = "".join(ch for ch in buyer_user_id if ch.isdigit()) or "0"
    first, last, street, city, state, code, postal = _FAKE_PEOPLE[int(digits) % len(_FAKE_PEOPLE)]
    full = f"{street}, {city}, {code} {postal}, United States"
    return {
        "name": f"{first} {last}",
        "first_name": first,
        "last_name": last,
        "phone_number": f"(+1)555{digits[-7:].rjust(7, '0')}",
        "full_address": full,
        "address_detail": street,
        "address_line1": street,
        "address_line2": "",
        "address_line3": "",
        "address_line4": "",
        "postal_code": postal,
        "region_code": "US",
        "district_info": [
            {
                "address_level": "L0",
                "address_level_name": "Country",
                "address_name": "United States",
            },
            {"address_level": "L1", "address_level_name": "State", "address_name": state},
            {"address_level": "L3", "address_level_name": "City", "address_name": city},
        ],
    }


@dataclass
class OrderLine:
    line_id: str
    sku_id: str
    product_id: str
    product_name: str
    sku_name: str
    seller_sku: str
    price: str

    def image(self) -> dict[str, Any]:
        return {"url": f"{AVATAR_BASE}/product/{self.product_id}.png", "width": 600, "height": 600}


@dataclass
class Order:
    order_id: str
    shop_id: str
    buyer_user_id: str
    currency: str
    status: str
    lines: list[OrderLine]
    create_time: int
    update_time: int
    cancel_reason: str = ""
    cancellation_initiator: str = ""  # SELLER | BUYER | SYSTEM
    cancel_time: int = 0
    buyer_request_cancel: bool = False
    # The recipient (Get Order Detail's ``recipient_address``); made up from the buyer id when
    # the seeding names none, so every order has one (fake, but shaped like a real one).
    recipient: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.recipient:
            self.recipient = fake_recipient(self.buyer_user_id)

    @property
    def total(self) -> str:
        return f"{sum(float(line.price) for line in self.lines):.2f}"

    def to_api(self) -> dict[str, Any]:
        """One order of Get Order Detail 202507 (the fields a seller's inbox reads)."""
        data: dict[str, Any] = {
            "id": self.order_id,
            "status": self.status,
            "user_id": self.buyer_user_id,
            "create_time": self.create_time,
            "update_time": self.update_time,
            "paid_time": self.create_time,
            "buyer_message": "",
            "buyer_email": f"buyer-{self.buyer_user_id[-6:]}@scs.tiktokw.us",
            "recipient_address": dict(self.recipient),
            "seller_note": "",
            "payment": {
                "currency": self.currency,
                "sub_total": self.total,
                "shipping_fee": "0",
                "seller_discount": "0",
                "platform_discount": "0",
                "tax": "0",
                "total_amount": self.total,
                "original_total_product_price": self.total,
                "original_shipping_fee": "0",
            },
            "line_items": [self._line(line) for line in self.lines],
            "packages": [],
            "fulfillment_type": "FULFILLMENT_BY_SELLER",
            "shipping_type": "TIKTOK",
            "delivery_type": "HOME_DELIVERY",
            "order_type": "NORMAL",
            "is_cod": False,
            "is_sample_order": False,
            "is_buyer_request_cancel": self.buyer_request_cancel,
            "is_on_hold_order": False,
            "is_replacement_order": False,
            "is_exchange_order": False,
            "has_updated_recipient_address": False,
            "rts_sla_time": self.create_time + TWO_DAYS,
            "tts_sla_time": self.create_time + 3 * 86400,
        }
        if self.cancellation_initiator:
            data["cancellation_initiator"] = self.cancellation_initiator
            data["cancel_reason"] = self.cancel_reason
        if self.cancel_time:
            data["cancel_time"] = self.cancel_time
        return data

    def _line(self, line: OrderLine) -> dict[str, Any]:
        return {
            "id": line.line_id,
            "sku_id": line.sku_id,
            "product_id": line.product_id,
            "product_name": line.product_name,
            "sku_name": line.sku_name,
            "seller_sku": line.seller_sku,
            "sku_image": line.image()["url"],
            "original_price": line.price,
            "sale_price": line.price,
            "platform_discount": "0",
            "seller_discount": "0",
            "currency": self.currency,
            "display_status": self.status,
            "is_gift": False,
        }


@dataclass
class Cancellation:
    cancel_id: str
    shop_id: str
    order: Order
    cancel_type: str  # CANCEL (seller or system) | BUYER_CANCEL
    role: str
    status: str
    reason: str
    reason_text: str
    create_time: int
    update_time: int
    decisions: list[dict[str, Any]] = field(default_factory=list)
    idempotency_keys: set[str] = field(default_factory=set)

    def to_api(self) -> dict[str, Any]:
        """One cancellation of Search Cancellations 202602."""
        order = self.order
        data: dict[str, Any] = {
            "cancel_id": self.cancel_id,
            "order_id": order.order_id,
            "cancel_type": self.cancel_type,
            "cancel_status": self.status,
            "role": self.role,
            "cancel_reason": self.reason,
            "cancel_reason_text": self.reason_text,
            "create_time": self.create_time,
            "update_time": self.update_time,
            "refund_amount": money(order.currency, order.total),
            "cancel_line_items": [
                {
                    "cancel_line_item_id": self.cancel_id + str(n),
                    "order_line_item_id": line.line_id,
                    "sku_id": line.sku_id,
                    "sku_name": line.sku_name,
                    "product_name": line.product_name,
                    "seller_sku": line.seller_sku,
                    "product_image": line.image(),
                    "refund_amount": money(order.currency, line.price),
                }
                for n, line in enumerate(order.lines, 1)
            ],
            "should_replenish_stock": self.status
            in ("CANCELLATION_REQUEST_SUCCESS", "CANCELLATION_REQUEST_COMPLETE"),
            "seller_next_action_response": deadlines.next_action_response(
                deadlines.cancellation_action(self.cancel_type, self.status), self.update_time
            ),
        }
        return data

    def to_webhook(self) -> dict[str, Any]:
        """CANCELLATION_STATUS_CHANGE (type 11) ``data``."""
        return {
            "order_id": self.order.order_id,
            "cancellations_role": self.role,
            "cancel_status": WEBHOOK_CANCEL_STATUS.get(self.status, self.status),
            "cancel_id": self.cancel_id,
            "create_time": self.create_time,
        }


@dataclass
class ReturnOrder:
    return_id: str
    shop_id: str
    order_id: str
    buyer_user_id: str
    return_type: str
    return_status: str
    return_reason: str
    return_reason_text: str
    create_time: int
    update_time: int
    currency: str = "USD"
    lines: list[OrderLine] = field(default_factory=list)
    is_quick_refund: bool = False
    arbitration_status: str = ""  # absent until the platform arbitrates
    seller_proposed_return_type: str = ""
    partial_refund: dict[str, str] | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    idempotency_keys: set[str] = field(default_factory=set)

    @property
    def amount(self) -> str:
        return f"{sum(float(line.price) for line in self.lines):.2f}"

    def next_action(self) -> str:
        return deadlines.return_action(
            self.return_type, self.return_status, self.arbitration_status
        )

    def to_api(self, version: str) -> dict[str, Any]:
        """One return of Search Returns (``202309`` or ``202602``, which adds
        ``is_quick_refund``)."""
        action = self.next_action()
        data: dict[str, Any] = {
            "return_id": self.return_id,
            "order_id": self.order_id,
            "return_type": self.return_type,
            "return_status": self.return_status,
            "role": "BUYER",
            "return_reason": self.return_reason,
            "return_reason_text": self.return_reason_text,
            "refund_amount": money(self.currency, self.amount),
            "return_line_items": [
                {
                    "return_line_item_id": self.return_id + str(n),
                    "order_line_item_id": line.line_id,
                    "sku_id": line.sku_id,
                    "sku_name": line.sku_name,
                    "seller_sku": line.seller_sku,
                    "product_name": line.product_name,
                    "product_image": line.image(),
                    "refund_amount": money(self.currency, line.price),
                }
                for n, line in enumerate(self.lines, 1)
            ],
            "is_combined_return": False,
            "seller_next_action_response": deadlines.next_action_response(action, self.update_time),
            "create_time": self.create_time,
            "update_time": self.update_time,
        }
        if self.return_type != "REFUND":
            data["return_method"] = "PLATFORM_SHIPPED"
            data["shipment_type"] = "PLATFORM"
        # "returned as true for replacement requests and is omitted for other return types"
        if self.return_type == "REPLACEMENT":
            data["can_buyer_keep_item"] = True
        if self.arbitration_status:
            data["arbitration_status"] = self.arbitration_status
        if self.seller_proposed_return_type:
            data["seller_proposed_return_type"] = self.seller_proposed_return_type
        if self.partial_refund is not None:
            data["partial_refund"] = dict(self.partial_refund)
        if version != "202309":
            data["is_quick_refund"] = self.is_quick_refund
        return data

    def to_webhook(self, role: str) -> dict[str, Any]:
        """RETURN_STATUS_CHANGE (type 12) ``data``."""
        return {
            "order_id": self.order_id,
            "return_role": role,
            "return_type": self.return_type,
            "return_status": self.return_status,
            "return_id": self.return_id,
            "create_time": self.create_time,
            "update_time": self.update_time,
        }

    def record(self, event: str, role: str, description: str, at: int, **extra: Any) -> None:
        """One Get Return Records entry (``note``/``reason_text``/``images`` only when given)."""
        entry: dict[str, Any] = {
            "event": event,
            "role": role,
            "description": description,
            "create_time": at,
        }
        entry.update({k: v for k, v in extra.items() if v not in (None, "", [])})
        self.records.append(entry)
