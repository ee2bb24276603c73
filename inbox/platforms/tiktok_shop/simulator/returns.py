"""Returns: seeding, and the return and refund API — Search Returns (202309, 202602), Approve
(202309), Reject (202309, 202606), Get Reject Reasons and Get Return Records (202309).

Reason codes, reject reason names and record events are the simulator's own: the platform's
lists are NOT CONFIRMED (docs/platforms/tiktok-shop.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from inbox.platforms.tiktok_shop.simulator import disputes
from inbox.platforms.tiktok_shop.simulator.commerce import (
    PENDING_STATUS,
    RETURN_STATUSES,
    RETURN_TYPES,
    ReturnOrder,
)
from inbox.platforms.tiktok_shop.simulator.orders import (
    CANCEL_REJECT_REASONS,
    order_create_locked,
    reason_code,
    search_filters,
    sort_and_page,
)
from inbox.platforms.tiktok_shop.simulator.state import (
    CODE_NOT_FOUND,
    ApiError,
    Shop,
    bad_param,
)

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.api import Call
    from inbox.platforms.tiktok_shop.simulator.core import Simulator

# return_reason codes: first keyword found wins.
RETURN_REASONS: list[tuple[tuple[str, ...], str]] = [
    (("damag", "broken", "损坏", "破"), "ecom_order_delivered_refund_and_return_reason_damaged"),
    (("wrong", "错"), "ecom_order_delivered_refund_and_return_reason_wrong_item"),
    (("size", "fit", "尺码"), "ecom_order_delivered_refund_and_return_reason_size_not_fit"),
    (("not received", "never arrived", "没收到"), "ecom_order_refund_reason_not_received"),
]
DEFAULT_RETURN_REASON = "ecom_order_delivered_refund_and_return_reason_not_as_described"

PENDING = "RETURN_OR_REFUND_REQUEST_PENDING"
SHIPPED = "BUYER_SHIPPED_ITEM"
REPLACEMENT = "REPLACEMENT_REQUEST_PENDING"
EXCHANGE = "EXCHANGE_REQUEST_PENDING"
# decision -> {(return status, return type or "*"): next status}
APPROVE: dict[str, dict[tuple[str, str], str]] = {
    "APPROVE_REFUND": {(PENDING, "REFUND"): "RETURN_OR_REFUND_REQUEST_SUCCESS"},
    "APPROVE_RETURN": {(PENDING, "RETURN_AND_REFUND"): "AWAITING_BUYER_SHIP"},
    "DIRECT_REFUND": {(PENDING, "RETURN_AND_REFUND"): "RETURN_OR_REFUND_REQUEST_SUCCESS"},
    "APPROVE_RECEIVED_PACKAGE": {(SHIPPED, "*"): "RETURN_OR_REFUND_REQUEST_SUCCESS"},
    "APPROVE_REPLACEMENT": {
        (REPLACEMENT, "*"): "REPLACEMENT_REQUEST_COMPLETE",
        (EXCHANGE, "*"): "EXCHANGE_REQUEST_COMPLETE",
    },
    "ISSUE_REPLACEMENT_REFUND": {
        (REPLACEMENT, "*"): "REPLACEMENT_REQUEST_REFUND_SUCCESS",
        (EXCHANGE, "*"): "EXCHANGE_REQUEST_REFUND_SUCCESS",
    },
    "OFFER_PARTIAL_REFUND": {(PENDING, "*"): "AWAITING_BUYER_RESPONSE"},
}
REJECT: dict[str, dict[tuple[str, str], str]] = {
    "REJECT_REFUND": {(PENDING, "REFUND"): "REFUND_OR_RETURN_REQUEST_REJECT"},
    "REJECT_RETURN": {(PENDING, "RETURN_AND_REFUND"): "REFUND_OR_RETURN_REQUEST_REJECT"},
    "REJECT_RECEIVED_PACKAGE": {(SHIPPED, "*"): "REJECT_RECEIVE_PACKAGE"},
    "REJECT_REPLACEMENT": {(REPLACEMENT, "*"): "REPLACEMENT_REQUEST_REJECT"},
}
# 202606 adds a partial refund after the returned package was inspected.
REJECT_202606 = {
    **REJECT,
    "OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG": {(SHIPPED, "*"): "AWAITING_BUYER_RESPONSE"},
}
PARTIAL_REFUND_DECISIONS = frozenset(
    {"OFFER_PARTIAL_REFUND", "OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG"}
)

# Reject reasons (name, text) by what the seller is answering.
_USED = ("seller_reject_apply_product_used", "The buyer has used the item.")
_AGREED = ("seller_reject_apply_agreed_with_buyer", "The buyer and I agreed on another solution.")
REJECT_REASONS: dict[str, list[tuple[str, str]]] = {
    PENDING: [
        ("seller_reject_apply_no_evidence", "The buyer did not provide evidence."),
        ("seller_reject_apply_outside_window", "The request is outside the return window."),
        _USED,
        _AGREED,
    ],
    SHIPPED: [
        ("seller_reject_receive_package_damaged", "The returned item was damaged by the buyer."),
        ("seller_reject_receive_package_wrong_item", "The returned item is not the item sold."),
        ("seller_reject_receive_package_missing", "The returned package is missing items."),
    ],
    REPLACEMENT: [("seller_reject_replacement_as_described", "The item is as described."), _USED],
    EXCHANGE: [("seller_reject_replacement_as_described", "The item is as described."), _USED],
    "CANCELLATION_REQUEST_PENDING": CANCEL_REJECT_REASONS,
}
REJECT_REASONS_ZH = {  # their wording for a zh locale (any other: English)
    "seller_reject_apply_no_evidence": "买家未提供凭证。",
    "seller_reject_apply_outside_window": "申请已超出退货期限。",
    "seller_reject_apply_product_used": "买家已使用该商品。",
    "seller_reject_apply_agreed_with_buyer": "已与买家协商其他解决方案。",
    "seller_reject_receive_package_damaged": "退回的商品被买家损坏。",
    "seller_reject_receive_package_wrong_item": "退回的商品不是所售商品。",
    "seller_reject_receive_package_missing": "退回的包裹缺少商品。",
    "seller_reject_replacement_as_described": "商品与描述相符。",
    "seller_reject_cancel_already_shipped": "订单已发货。",
    "seller_reject_cancel_agreed_with_buyer": "买家同意保留订单。",
}
MAX_COMMENT = 500
MAX_IMAGES = 6


def _shop(call: Call) -> Shop:
    assert call.shop is not None  # noqa: S101 - shop-scoped routes always carry one
    return call.shop


# --- seeding -----------------------------------------------------------------------------------
def return_request(
    sim: Simulator,
    shop_id: str,
    *,
    buyer_user_id: str,
    order_id: str,
    reason_text: str,
    return_type: str = "REFUND",
    quick_refund: bool = False,
    images: list[dict[str, Any]] | None = None,
) -> str:
    """A buyer asks for a return of an order; returns the return_id, queues webhook 12.

    An order the simulator does not know yet is created for that buyer (one line). ``images``
    (``{url, width, height}``) are the buyer's evidence, on the request's record.
    """
    if return_type not in RETURN_TYPES:
        raise ValueError(f"return_type must be one of {sorted(RETURN_TYPES)}")
    with sim.lock:
        shop = sim.shops[shop_id]
        order = sim.orders.get(order_id)
        if order is None:
            order = order_create_locked(
                sim, shop, buyer_user_id=buyer_user_id, order_id=order_id, status="DELIVERED"
            )
        elif order.shop_id != shop_id:
            raise KeyError(f"order {order_id!r} is not an order of shop {shop_id!r}")
        now = int(sim.clock())
        reason = reason_code(reason_text, RETURN_REASONS, DEFAULT_RETURN_REASON)
        item = ReturnOrder(
            return_id=sim.ids.next(),
            shop_id=shop_id,
            order_id=order_id,
            buyer_user_id=order.buyer_user_id,
            return_type=return_type,
            return_status=PENDING_STATUS[return_type],
            return_reason=reason,
            return_reason_text=reason_text,
            create_time=now,
            update_time=now,
            currency=order.currency,
            lines=list(order.lines),
            is_quick_refund=quick_refund,
        )
        what = return_type.lower().replace("_", " ")  # "return and refund"
        item.record(
            "BUYER_REQUEST",
            "BUYER",
            f"The buyer requested a {what}.",
            now,
            reason_text=reason_text,
            images=images,
        )
        sim.returns[item.return_id] = item
        sim._queue_event(shop, "RETURN_STATUS_CHANGE", item.to_webhook("BUYER"))
        return item.return_id


def return_update(sim: Simulator, return_id: str, status: str, *, role: str = "BUYER") -> None:
    """Move a return on as the buyer or the platform would (e.g. the buyer ships the item:
    ``BUYER_SHIPPED_ITEM``); records it and queues webhook 12."""
    if status not in RETURN_STATUSES:
        raise ValueError(f"status must be one of {sorted(RETURN_STATUSES)}")
    with sim.lock:
        item = sim.returns[return_id]
        now = int(sim.clock())
        item.return_status = status
        item.update_time = now
        item.record(status, role, f"The return moved to {status}.", now)
        sim._queue_event(sim.shops[item.shop_id], "RETURN_STATUS_CHANGE", item.to_webhook(role))


# --- reads -------------------------------------------------------------------------------------
def _search(sim: Simulator, call: Call, version: str) -> dict[str, Any]:
    body = dict(call.body) if isinstance(call.body, dict) else call.body
    if (
        version == "202309"
        and isinstance(body, dict)
        and isinstance(body.get("return_status"), str)
    ):
        body["return_status"] = [body["return_status"]]
    names: tuple[str, ...] = ("return_ids", "order_ids", "buyer_user_ids", "return_status")
    if version != "202309":
        names += ("return_types", "arbitration_status", "seller_proposed_return_type")
    filters, windows = search_filters(body, names)

    fields: dict[str, Callable[[ReturnOrder], str]] = {
        "return_ids": lambda r: r.return_id,
        "order_ids": lambda r: r.order_id,
        "buyer_user_ids": lambda r: r.buyer_user_id,
        "return_status": lambda r: r.return_status,
        "return_types": lambda r: r.return_type,
        "arbitration_status": lambda r: r.arbitration_status,
        "seller_proposed_return_type": lambda r: r.seller_proposed_return_type,
    }
    with sim.lock:
        shop_id = _shop(call).shop_id
        matching = [
            r
            for r in sim.returns.values()
            if r.shop_id == shop_id
            and all(fields[name](r) in allowed for name, allowed in filters.items())
            and all(lo <= getattr(r, name) < hi for name, (lo, hi) in windows.items())
        ]
        page, token = sort_and_page(call, matching, lambda r: r.return_id, low=10)
        return {
            "return_orders": [r.to_api(version) for r in page],
            "next_page_token": token,
            "total_count": len(matching),
        }


def returns_search_202309(sim: Simulator, call: Call) -> dict[str, Any]:
    return _search(sim, call, "202309")


def returns_search_202602(sim: Simulator, call: Call) -> dict[str, Any]:
    return _search(sim, call, "202602")


def _return(sim: Simulator, call: Call, return_id: str) -> ReturnOrder:
    item = sim.returns.get(return_id)
    if item is None or item.shop_id != _shop(call).shop_id:
        raise ApiError(404, CODE_NOT_FOUND, "The return does not exist.")
    return item


def _reasons_for(sim: Simulator, call: Call, ident: str) -> list[tuple[str, str]]:
    """The reject reasons for a return's or a cancellation's current status (caller locks)."""
    cancellation = sim.cancellations.get(ident)
    if cancellation is not None and cancellation.shop_id == _shop(call).shop_id:
        return REJECT_REASONS.get(cancellation.status, [])
    return REJECT_REASONS.get(_return(sim, call, ident).return_status, [])


def reject_reasons(sim: Simulator, call: Call) -> dict[str, Any]:
    """GET /return_refund/202309/reject_reasons?return_or_cancel_id=…&locale=zh-CN|en-US…"""
    ident = call.query.get("return_or_cancel_id", "")
    if not ident:
        raise bad_param("return_or_cancel_id is required.")
    zh = call.query.get("locale", "").lower().startswith("zh")
    with sim.lock:
        reasons = _reasons_for(sim, call, ident)
    return {
        "reasons": [
            {"name": name, "text": REJECT_REASONS_ZH.get(name, text) if zh else text}
            for name, text in reasons
        ]
    }


def return_records(sim: Simulator, call: Call) -> dict[str, Any]:
    """GET /return_refund/202309/returns/{return_id}/records: oldest first."""
    with sim.lock:
        item = _return(sim, call, call.path_params["return_id"])
        return {"records": [dict(r) for r in item.records]}


# --- decisions ---------------------------------------------------------------------------------
def _partial_refund(body: dict[str, Any], item: ReturnOrder, decision: str) -> dict[str, str]:
    if decision == "OFFER_PARTIAL_REFUND":
        offer = body.get("partial_refund")
        amount_key = "amount"
    else:
        offer = body.get("partial_refund_amount")
        amount_key = "partial_refund_total"
    name = "partial_refund" if decision == "OFFER_PARTIAL_REFUND" else "partial_refund_amount"
    if not isinstance(offer, dict):
        raise bad_param(f"{name} is required for {decision}.")
    try:
        amount = float(str(offer.get(amount_key)))
    except ValueError:
        amount = 0.0
    if not amount > 0:
        raise bad_param(f"{name}.{amount_key} must be an amount greater than 0.")
    if amount > float(item.amount):
        raise bad_param(f"{name}.{amount_key} exceeds the refundable amount.")
    if offer.get("currency") != item.currency:
        raise bad_param(f"{name}.currency must be the return's currency, {item.currency}.")
    return {"currency": item.currency, "amount": str(offer.get(amount_key))}


def _check_reject_body(body: dict[str, Any], item: ReturnOrder, *, required: bool) -> str:
    """The reject reason's text (``""`` when none was given and none is required)."""
    reason = body.get("reject_reason")
    if reason in (None, "") and not required:
        return ""
    if not isinstance(reason, str) or not reason:
        raise bad_param("reject_reason is required: a name from Get Reject Reasons.")
    texts = dict(REJECT_REASONS.get(item.return_status, []))
    if reason not in texts:
        raise bad_param(
            f"reject_reason {reason!r} is not an available reject reason for this return; "
            "call Get Reject Reasons for the names it takes now."
        )
    comment = body.get("comment", "")
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise bad_param(f"comment is a string of at most {MAX_COMMENT} characters.")
    images = body.get("images", [])
    if not isinstance(images, list) or len(images) > MAX_IMAGES:
        raise bad_param(f"images is a list of at most {MAX_IMAGES} images.")
    if not all(isinstance(i, dict) and i.get("image_id") for i in images):
        raise bad_param("each image needs an image_id.")
    return texts[reason]


def _decide(
    sim: Simulator,
    call: Call,
    table: dict[str, dict[tuple[str, str], str]],
    verb: str,
    *,
    reason_required: bool = False,
) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    decision = body.get("decision")
    if decision not in table:
        raise bad_param(f"decision must be one of {', '.join(table)}.")
    key = call.query.get("idempotency_key", "")
    if len(key) > 255:
        raise bad_param("idempotency_key is at most 255 characters.")
    with sim.lock:
        shop = _shop(call)
        item = _return(sim, call, call.path_params["return_id"])
        if key and key in item.idempotency_keys:
            return {}
        disputes.withdraw_if_armed_locked(sim, item)
        moves = table[str(decision)]
        after = moves.get((item.return_status, item.return_type)) or moves.get(
            (item.return_status, "*")
        )
        if after is None or item.arbitration_status == "IN_PROGRESS":
            raise disputes.refusal(item, verb, str(decision))
        reason_text = (
            _check_reject_body(body, item, required=reason_required) if verb == "reject" else ""
        )
        offer = (
            _partial_refund(body, item, str(decision))
            if decision in PARTIAL_REFUND_DECISIONS
            else None
        )
        if decision == "APPROVE_RETURN" and body.get("buyer_keep_item") is True:
            after = "RETURN_OR_REFUND_REQUEST_SUCCESS"
        now = int(sim.clock())
        item.return_status = after
        item.update_time = now
        if offer is not None:
            item.seller_proposed_return_type = "PARTIAL_REFUND"
            item.partial_refund = offer
        item.decisions.append({**body, "action": verb, "time": now, "idempotency_key": key})
        item.record(
            f"SELLER_{verb.upper()}",
            "SELLER",
            f"The seller chose {decision}.",
            now,
            note=body.get("comment"),
            reason_text=reason_text,
        )
        if key:
            item.idempotency_keys.add(key)
        sim._queue_event(shop, "RETURN_STATUS_CHANGE", item.to_webhook("SELLER"))
        return {}


def return_approve(sim: Simulator, call: Call) -> dict[str, Any]:
    """POST /return_refund/202309/returns/{return_id}/approve (DIRECT_REFUND included)."""
    return _decide(sim, call, APPROVE, "approve")


def return_reject_202309(sim: Simulator, call: Call) -> dict[str, Any]:
    """A reject_reason, when given, must be one Get Reject Reasons offers."""
    return _decide(sim, call, REJECT, "reject")


def return_reject_202606(sim: Simulator, call: Call) -> dict[str, Any]:
    """reject_reason is required and must be one Get Reject Reasons offers."""
    return _decide(sim, call, REJECT_202606, "reject", reason_required=True)
