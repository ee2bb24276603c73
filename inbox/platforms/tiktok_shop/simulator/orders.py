"""Orders and cancellations: seeding (what tests and the demo drive) and the Open API reads
Get Order Detail 202507 and Search Cancellations 202602.

Seeding functions take the simulator lock themselves; names ending in ``_locked`` expect the
caller to hold it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from inbox.platforms.tiktok_shop.simulator.commerce import (
    CANCELLATION_STATUSES,
    Cancellation,
    Order,
    OrderLine,
)
from inbox.platforms.tiktok_shop.simulator.paging import page_size, paginate
from inbox.platforms.tiktok_shop.simulator.state import (
    CODE_NOT_FOUND,
    ApiError,
    Shop,
    bad_param,
)

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.api import Call
    from inbox.platforms.tiktok_shop.simulator.core import Simulator

MAX_ORDER_IDS = 50
CURRENCY_BY_REGION = {"US": "USD", "GB": "GBP", "MY": "MYR", "SG": "SGD", "TH": "THB"}
# cancel_reason codes are the simulator's own (the platform's list is NOT CONFIRMED).
CANCEL_REASONS: list[tuple[tuple[str, ...], str]] = [
    (("address", "地址"), "ecom_order_buyer_cancel_reason_change_address"),
    (("cheaper", "price", "便宜", "价格"), "ecom_order_buyer_cancel_reason_better_price"),
    (("late", "slow", "long", "慢"), "ecom_order_buyer_cancel_reason_shipping_too_long"),
]
DEFAULT_CANCEL_REASON = "ecom_order_buyer_cancel_reason_no_longer_needed"
DEFAULT_PRODUCTS = [("Simulated product", "Default", "19.99")]
# The seller's reasons to refuse a buyer's cancellation (Get Reject Reasons; NOT CONFIRMED).
CANCEL_REJECT_REASONS = [
    ("seller_reject_cancel_already_shipped", "The order has already been shipped."),
    ("seller_reject_cancel_agreed_with_buyer", "The buyer agreed to keep the order."),
]
MAX_COMMENT = 500


def _shop(call: Call) -> Shop:
    assert call.shop is not None  # noqa: S101 - shop-scoped routes always carry one
    return call.shop


def reason_code(text: str, table: list[tuple[tuple[str, ...], str]], default: str) -> str:
    lowered = text.lower()
    return next((code for words, code in table if any(w in lowered for w in words)), default)


# --- seeding -----------------------------------------------------------------------------------
def order_create_locked(
    sim: Simulator,
    shop: Shop,
    *,
    buyer_user_id: str,
    order_id: str | None = None,
    products: list[tuple[str, str, str]] | None = None,
    status: str = "AWAITING_SHIPMENT",
    at: float | None = None,
) -> Order:
    """A paid order of ``products`` (name, SKU name, price) by a buyer (caller holds the lock)."""
    if order_id is not None and order_id in sim.orders:
        raise ValueError(f"order {order_id!r} exists")
    now = int(sim.clock() if at is None else at)
    order_id = order_id or sim.ids.next()
    lines = []
    for n, (name, sku_name, price) in enumerate(products or DEFAULT_PRODUCTS, 1):
        try:
            float(price)
        except ValueError:
            raise ValueError(f"price {price!r} is not a decimal amount") from None
        lines.append(
            OrderLine(
                line_id=order_id + str(n),
                sku_id="1729" + order_id[-12:] + str(n),
                product_id="1729" + order_id[-13:] + "0" + str(n),
                product_name=name,
                sku_name=sku_name,
                seller_sku=f"SIM-SKU-{n}",
                price=price,
            )
        )
    order = Order(
        order_id=order_id,
        shop_id=shop.shop_id,
        buyer_user_id=buyer_user_id,
        currency=CURRENCY_BY_REGION.get(shop.region.upper(), "USD"),
        status=status,
        lines=lines,
        create_time=now,
        update_time=now,
    )
    sim.orders[order_id] = order
    return order


def cancellation_request(
    sim: Simulator,
    shop_id: str,
    *,
    order_id: str,
    role: str = "BUYER",
    reason_text: str = "I no longer need it.",
) -> str:
    """A cancellation of an order; returns cancel_id and queues CANCELLATION_STATUS_CHANGE.

    A buyer's request waits for the seller (BUYER_CANCEL, pending); a seller's or the system's
    cancellation takes effect at once (CANCEL, complete).
    """
    if role not in ("BUYER", "SELLER", "SYSTEM"):
        raise ValueError("role must be BUYER, SELLER or SYSTEM")
    with sim.lock:
        shop = sim.shops[shop_id]
        order = sim.orders.get(order_id)
        if order is None or order.shop_id != shop_id:
            raise KeyError(f"no order {order_id!r} in shop {shop_id!r}")
        if order.status == "CANCELLED":
            raise ValueError(f"order {order_id!r} is already cancelled")
        now = int(sim.clock())
        buyer = role == "BUYER"
        cancellation = Cancellation(
            cancel_id=sim.ids.next(),
            shop_id=shop_id,
            order=order,
            cancel_type="BUYER_CANCEL" if buyer else "CANCEL",
            role=role,
            status="CANCELLATION_REQUEST_PENDING",
            reason=reason_code(reason_text, CANCEL_REASONS, DEFAULT_CANCEL_REASON),
            reason_text=reason_text,
            create_time=now,
            update_time=now,
        )
        sim.cancellations[cancellation.cancel_id] = cancellation
        order.cancellation_initiator = role
        order.cancel_reason = cancellation.reason
        order.update_time = now
        if buyer:
            order.buyer_request_cancel = True
            sim._queue_event(shop, "CANCELLATION_STATUS_CHANGE", cancellation.to_webhook())
        else:
            _set_status_locked(sim, shop, cancellation, "CANCELLATION_REQUEST_COMPLETE")
        return cancellation.cancel_id


def cancellation_update(sim: Simulator, cancel_id: str, status: str) -> None:
    """Move a cancellation to ``status`` (the seller's or platform's answer); queues webhook 11.

    SUCCESS and COMPLETE cancel the order; CANCEL (withdrawn or refused) leaves it as it was.
    """
    if status not in CANCELLATION_STATUSES:
        raise ValueError(f"status must be one of {sorted(CANCELLATION_STATUSES)}")
    with sim.lock:
        cancellation = sim.cancellations[cancel_id]
        _set_status_locked(sim, sim.shops[cancellation.shop_id], cancellation, status)


def _set_status_locked(sim: Simulator, shop: Shop, cancellation: Cancellation, status: str) -> None:
    now = int(sim.clock())
    cancellation.status = status
    cancellation.update_time = now
    order = cancellation.order
    order.update_time = now
    if status != "CANCELLATION_REQUEST_PENDING":
        order.buyer_request_cancel = False
    if status in ("CANCELLATION_REQUEST_SUCCESS", "CANCELLATION_REQUEST_COMPLETE"):
        order.status = "CANCELLED"
        order.cancel_time = order.cancel_time or now
    elif status == "CANCELLATION_REQUEST_CANCEL":
        order.cancellation_initiator = order.cancel_reason = ""
    sim._queue_event(shop, "CANCELLATION_STATUS_CHANGE", cancellation.to_webhook())


# --- Open API reads ----------------------------------------------------------------------------
def order_detail(sim: Simulator, call: Call) -> dict[str, Any]:
    """GET /order/202507/orders?ids=a,b: one ``ids`` value, comma-separated, at most 50."""
    raw = call.query.get("ids", "")
    ids = [i.strip() for i in raw.split(",") if i.strip()]
    if not ids:
        raise bad_param("ids is required: order IDs, comma-separated.")
    if len(ids) > MAX_ORDER_IDS:
        raise bad_param(f"ids takes at most {MAX_ORDER_IDS} order IDs.")
    if not all(i.isdigit() for i in ids):
        raise bad_param("ids must be numeric order IDs.")
    with sim.lock:
        shop_id = _shop(call).shop_id
        found = (sim.orders.get(i) for i in dict.fromkeys(ids))
        return {"orders": [o.to_api() for o in found if o is not None and o.shop_id == shop_id]}


def _id_list(body: dict[str, Any], name: str) -> set[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_param(f"{name} must be a list of strings.")
    return set(value)


def _time_window(body: dict[str, Any], name: str) -> tuple[int, int]:
    bounds = []
    for suffix, default in (("_ge", 0), ("_lt", 2**63 - 1)):
        value = body.get(name + suffix, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad_param(f"{name}{suffix} must be a Unix timestamp in seconds.")
        bounds.append(value)
    return bounds[0], bounds[1]


def search_filters(body: Any, lists: tuple[str, ...]) -> tuple[dict[str, set[str]], dict[str, Any]]:
    """The list filters given (name -> allowed values) and the create/update time windows."""
    if not isinstance(body, dict):
        raise bad_param("The body must be a JSON object.")
    filters = {name: values for name in lists if (values := _id_list(body, name)) is not None}
    windows = {name: _time_window(body, name) for name in ("create_time", "update_time")}
    return filters, windows


def sort_and_page(
    call: Call, items: list[Any], ident: Callable[[Any], str], *, low: int = 1
) -> tuple[list[Any], str]:
    """Sort by ``sort_field`` (create_time | update_time) and ``sort_order``, then page."""
    size = page_size(call.query, low=low, high=50, default=10)
    field = call.query.get("sort_field", "create_time") or "create_time"
    order = call.query.get("sort_order", "ASC") or "ASC"
    if field not in ("create_time", "update_time"):
        raise bad_param("sort_field must be create_time or update_time.")
    if order not in ("ASC", "DESC"):
        raise bad_param("sort_order must be ASC or DESC.")

    def key(item: Any) -> list[int]:
        return [getattr(item, field), int(ident(item))]

    ordered = sorted(items, key=key, reverse=order == "DESC")
    return paginate(
        ordered, key, size, call.query.get("page_token", ""), descending=order == "DESC"
    )


def cancellations_search(sim: Simulator, call: Call) -> dict[str, Any]:
    """POST /return_refund/202602/cancellations/search."""
    filters, windows = search_filters(
        call.body, ("cancel_ids", "order_ids", "buyer_user_ids", "cancel_types", "cancel_status")
    )

    def value(c: Cancellation, name: str) -> str:
        return {
            "cancel_ids": c.cancel_id,
            "order_ids": c.order.order_id,
            "buyer_user_ids": c.order.buyer_user_id,
            "cancel_types": c.cancel_type,
            "cancel_status": c.status,
        }[name]

    with sim.lock:
        shop_id = _shop(call).shop_id
        matching = [
            c
            for c in sim.cancellations.values()
            if c.shop_id == shop_id
            and all(value(c, name) in allowed for name, allowed in filters.items())
            and all(lo <= getattr(c, name) < hi for name, (lo, hi) in windows.items())
        ]
        page, token = sort_and_page(call, matching, lambda c: c.cancel_id)
        return {
            "cancellations": [c.to_api() for c in page],
            "next_page_token": token,
            "total_count": len(matching),
        }


# --- the seller's answer to a buyer's cancellation (202309) -------------------------------------
def _decide_cancellation(sim: Simulator, call: Call, verb: str) -> dict[str, Any]:
    """Only a buyer's pending request is answered; an approval cancels the order (SUCCESS), a
    refusal ends the request (CANCEL) and needs a reason Get Reject Reasons offers."""
    body = call.body if isinstance(call.body, dict) else {}
    key = call.query.get("idempotency_key", "")
    if len(key) > 255:
        raise bad_param("idempotency_key is at most 255 characters.")
    from inbox.platforms.tiktok_shop.simulator import disputes

    with sim.lock:
        shop = _shop(call)
        cancellation = sim.cancellations.get(call.path_params["cancel_id"])
        if cancellation is None or cancellation.shop_id != shop.shop_id:
            raise ApiError(404, CODE_NOT_FOUND, "The cancellation does not exist.")
        if key and key in cancellation.idempotency_keys:
            return {}
        disputes.withdraw_if_armed_locked(sim, cancellation)
        if (cancellation.cancel_type, cancellation.status) != (
            "BUYER_CANCEL",
            "CANCELLATION_REQUEST_PENDING",
        ):
            raise disputes.refusal(cancellation, verb)
        if verb == "reject":
            reason = body.get("reject_reason")
            if not isinstance(reason, str) or reason not in dict(CANCEL_REJECT_REASONS):
                raise bad_param(
                    f"reject_reason {reason!r} is not an available reject reason for this "
                    "cancellation; call Get Reject Reasons for the names it takes now."
                )
            comment = body.get("comment", "")
            if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
                raise bad_param(f"comment is a string of at most {MAX_COMMENT} characters.")
        cancellation.decisions.append(
            {**body, "action": verb, "time": int(sim.clock()), "idempotency_key": key}
        )
        if key:
            cancellation.idempotency_keys.add(key)
        status = (
            "CANCELLATION_REQUEST_SUCCESS" if verb == "approve" else "CANCELLATION_REQUEST_CANCEL"
        )
        _set_status_locked(sim, shop, cancellation, status)
        return {}


def cancellation_approve(sim: Simulator, call: Call) -> dict[str, Any]:
    """POST /return_refund/202309/cancellations/{cancel_id}/approve."""
    return _decide_cancellation(sim, call, "approve")


def cancellation_reject(sim: Simulator, call: Call) -> dict[str, Any]:
    """POST /return_refund/202309/cancellations/{cancel_id}/reject."""
    return _decide_cancellation(sim, call, "reject")
