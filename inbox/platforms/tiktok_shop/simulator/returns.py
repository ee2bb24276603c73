"""The return and refund API (202309): search, approve, reject."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inbox.platforms.tiktok_shop.simulator.paging import page_size, paginate
from inbox.platforms.tiktok_shop.simulator.state import (
    CODE_CONFLICT,
    CODE_NOT_FOUND,
    ApiError,
    ReturnOrder,
    Shop,
    bad_param,
)

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.api import Call
    from inbox.platforms.tiktok_shop.simulator.core import Simulator

APPROVE_STATUS = {
    "APPROVE_REFUND": "RETURN_OR_REFUND_REQUEST_SUCCESS",
    "APPROVE_RETURN": "AWAITING_BUYER_SHIP",
    "APPROVE_RECEIVED_PACKAGE": "RETURN_OR_REFUND_REQUEST_SUCCESS",
    "APPROVE_REPLACEMENT": "REPLACEMENT_REQUEST_COMPLETE",
    "ISSUE_REPLACEMENT_REFUND": "REPLACEMENT_REQUEST_REFUND_SUCCESS",
    "OFFER_PARTIAL_REFUND": "AWAITING_BUYER_RESPONSE",
}
REJECT_STATUS = {
    "REJECT_REFUND": "REFUND_OR_RETURN_REQUEST_REJECT",
    "REJECT_RETURN": "REFUND_OR_RETURN_REQUEST_REJECT",
    "REJECT_RECEIVED_PACKAGE": "REJECT_RECEIVE_PACKAGE",
    "REJECT_REPLACEMENT": "REPLACEMENT_REQUEST_REJECT",
}
DECIDABLE = frozenset(
    {
        "RETURN_OR_REFUND_REQUEST_PENDING",
        "BUYER_SHIPPED_ITEM",
        "REPLACEMENT_REQUEST_PENDING",
    }
)


def _shop(call: Call) -> Shop:
    assert call.shop is not None  # noqa: S101 - shop-scoped routes always carry one
    return call.shop


# --- returns ------------------------------------------------------------------------------------
def returns_search(sim: Simulator, call: Call) -> dict[str, Any]:
    size = page_size(call.query, low=10, high=50, default=10)
    field = call.query.get("sort_field", "create_time") or "create_time"
    order = call.query.get("sort_order", "ASC") or "ASC"
    if field not in ("create_time", "update_time") or order not in ("ASC", "DESC"):
        raise bad_param("sort_field/sort_order is invalid.")
    body = call.body if isinstance(call.body, dict) else {}
    filters = {
        name: set(body[name])
        for name in ("return_ids", "order_ids", "buyer_user_ids", "return_status")
        if isinstance(body.get(name), list)
    }
    if isinstance(body.get("return_status"), str):
        filters["return_status"] = {body["return_status"]}

    def key(r: ReturnOrder) -> list[int]:
        return [getattr(r, field), int(r.return_id)]

    with sim.lock:
        shop_id = _shop(call).shop_id
        matching = [
            r
            for r in sim.returns.values()
            if r.shop_id == shop_id
            and ("return_ids" not in filters or r.return_id in filters["return_ids"])
            and ("order_ids" not in filters or r.order_id in filters["order_ids"])
            and ("buyer_user_ids" not in filters or r.buyer_user_id in filters["buyer_user_ids"])
            and ("return_status" not in filters or r.return_status in filters["return_status"])
        ]
        items = sorted(matching, key=key, reverse=order == "DESC")
        page, token = paginate(
            items, key, size, call.query.get("page_token", ""), descending=order == "DESC"
        )
        return {
            "return_orders": [r.to_api() for r in page],
            "next_page_token": token,
            "total_count": len(matching),
        }


def _decide(sim: Simulator, call: Call, statuses: dict[str, str], verb: str) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    decision = body.get("decision")
    if decision not in statuses:
        raise bad_param(f"decision must be one of {', '.join(statuses)}.")
    key = call.query.get("idempotency_key", "")
    if len(key) > 255:
        raise bad_param("idempotency_key is at most 255 characters.")
    with sim.lock:
        shop = _shop(call)
        order = sim.returns.get(call.path_params["return_id"])
        if order is None or order.shop_id != shop.shop_id:
            raise ApiError(404, CODE_NOT_FOUND, "The return does not exist.")
        if key and key in order.idempotency_keys:
            return {}
        if order.return_status not in DECIDABLE:
            raise ApiError(409, CODE_CONFLICT, f"The return cannot be {verb}d in its status.")
        now = int(sim.clock())
        order.return_status = statuses[str(decision)]
        order.update_time = now
        record = {**body, "action": verb, "time": now}
        order.decisions.append(record)
        if key:
            order.idempotency_keys.add(key)
        sim._queue_event(shop, "RETURN_STATUS_CHANGE", order.to_webhook("SELLER"))
        return {}


def return_approve(sim: Simulator, call: Call) -> dict[str, Any]:
    return _decide(sim, call, APPROVE_STATUS, "approve")


def return_reject(sim: Simulator, call: Call) -> dict[str, Any]:
    return _decide(sim, call, REJECT_STATUS, "reject")
