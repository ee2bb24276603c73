"""The simulator's orders, cancellations and returns at TikTok's current versions (issue 12):
fields the API leaves out are absent (never null), Send Message 202606, Search Returns and
Search Cancellations 202602, Reject 202606 and its reasons, return records, webhook 11, Get
Order Detail 202507 and the performance fields. Real HTTP against a real uvicorn server."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from inbox.platforms.tiktok_shop.simulator import Simulator, SimulatorServer
from tests.inbox.platforms.test_simulator import (
    APP_KEY,
    CASE_EVENTS,
    OTHER_SHOP,
    SHOP_ID,
    Client,
    Clock,
    Receiver,
    subscribed,
)

CS = "/customer_service/202309"
SEND_202606 = "/customer_service/202606/conversations/{}/messages"
SEARCH_202602 = "/return_refund/202602/returns/search"
REJECT_202606 = "/return_refund/202606/returns/{}/reject"
APPROVE = "/return_refund/202309/returns/{}/approve"
REASONS = "/return_refund/202309/reject_reasons"
CANCELLATIONS = "/return_refund/202602/cancellations/search"
ORDERS = "/order/202507/orders"


@pytest.fixture
def sim(sim: Simulator) -> Simulator:
    """The simulator with another shop of the app beside the demo shop."""
    sim.add_shop(APP_KEY, shop_id=OTHER_SHOP, name="Other UK", region="GB")
    return sim


@pytest.fixture
def receiver(sim: Simulator, client: Client, receiver: Receiver) -> Receiver:
    return subscribed(sim, receiver, CASE_EVENTS)


def ok(answer: tuple[int, dict[str, Any]]) -> Any:
    status, body = answer
    assert (status, body["code"]) == (200, 0), body
    return body["data"]


def search(client: Client, body: dict[str, Any], path: str = SEARCH_202602) -> list[dict]:
    return ok(client.call("POST", path, body=body))["return_orders"]


# --- absent, never null --------------------------------------------------------------------------
def test_a_conversation_without_messages_has_no_latest_message(client: Client) -> None:
    # Given a conversation the shop opened (CreateConversation) before anyone wrote
    created = ok(client.call("POST", f"{CS}/conversations", body={"buyer_user_id": "7494001"}))
    # When the conversations are listed
    (conversation,) = ok(client.call("GET", f"{CS}/conversations", {"page_size": "5"}))[
        "conversations"
    ]
    # Then it is there, without a latest_message (absent, not null)
    assert conversation["id"] == created["conversation_id"]
    assert "latest_message" not in conversation
    assert None not in conversation.values()


def test_returns_leave_out_what_does_not_apply(sim: Simulator, client: Client) -> None:
    # Given a refund and a replacement, neither in arbitration
    refund = sim.return_request(SHOP_ID, buyer_user_id="7494001", order_id="576000000000000001")
    replacement = sim.return_request(
        SHOP_ID, buyer_user_id="7494002", order_id="576000000000000002", return_type="REPLACEMENT"
    )
    found = {r["return_id"]: r for r in search(client, {})}
    # Then arbitration_status is absent, and can_buyer_keep_item is there only for the
    # replacement ("returned as true for replacement requests and omitted for other types")
    assert "arbitration_status" not in found[refund]
    assert "can_buyer_keep_item" not in found[refund]
    assert found[replacement]["can_buyer_keep_item"] is True
    for item in found.values():
        assert None not in item.values()


# --- Send Message 202606 --------------------------------------------------------------------------
def test_send_message_202606_takes_sender_role_video_and_logistics_cards(
    sim: Simulator, client: Client
) -> None:
    cid, _ = sim.buyer_message(SHOP_ID, buyer_user_id="7494001", nickname="Emily", text="hi")
    video = {"type": "VIDEO", "content": json.dumps({"vid": "v0e30cg700f7"})}
    card = {
        "type": "LOGISTICS_CARD",
        "content": json.dumps({"order_id": "576000000000000001"}),
        "sender_role": "CUSTOMER_SERVICE",
    }
    # When the shop sends both at 202606
    ok(client.call("POST", SEND_202606.format(cid), body=video))
    ok(client.call("POST", SEND_202606.format(cid), body=card))
    # Then both are in the conversation, the card from the role the shop named
    messages = ok(client.call("GET", f"{CS}/conversations/{cid}/messages", {"page_size": "10"}))[
        "messages"
    ]
    roles = {m["type"]: m["sender"]["role"] for m in messages}
    assert roles == {"TEXT": "BUYER", "VIDEO": "SHOP", "LOGISTICS_CARD": "CUSTOMER_SERVICE"}
    # And 202309 still refuses what it never had; 202606 refuses an unknown sender role
    status, body = client.call("POST", f"{CS}/conversations/{cid}/messages", body=video)
    assert status == 400 and "type must be one of" in body["message"]
    status, body = client.call(
        "POST", SEND_202606.format(cid), body={**video, "sender_role": "BUYER"}
    )
    assert status == 400 and "sender_role" in body["message"]
    assert len(sim.sent_messages(SHOP_ID)) == 2


# --- returns -------------------------------------------------------------------------------------
def test_search_returns_202602_knows_exchanges_and_quick_refunds(
    sim: Simulator, client: Client
) -> None:
    exchange = sim.return_request(
        SHOP_ID, buyer_user_id="7494001", order_id="576000000000000001", return_type="EXCHANGE"
    )
    quick = sim.return_request(
        SHOP_ID, buyer_user_id="7494002", order_id="576000000000000002", quick_refund=True
    )
    # When returns are searched by type at 202602
    (found,) = search(client, {"return_types": ["EXCHANGE"]})
    assert (found["return_id"], found["return_status"]) == (exchange, "EXCHANGE_REQUEST_PENDING")
    assert found["is_quick_refund"] is False
    (found,) = search(client, {"return_status": ["RETURN_OR_REFUND_REQUEST_PENDING"]})
    assert (found["return_id"], found["is_quick_refund"]) == (quick, True)
    # And 202309 answers without the field it did not have
    old = search(client, {}, "/return_refund/202309/returns/search")
    assert len(old) == 2 and all("is_quick_refund" not in r for r in old)
    # And the order a return came from can be read (its buyer included)
    (order,) = ok(client.call("GET", ORDERS, {"ids": "576000000000000002"}))["orders"]
    assert order["user_id"] == "7494002"


def test_approve_with_direct_refund(sim: Simulator, client: Client, receiver: Receiver) -> None:
    return_id = sim.return_request(
        SHOP_ID,
        buyer_user_id="7494001",
        order_id="576000000000000001",
        return_type="RETURN_AND_REFUND",
    )
    # When the seller refunds without asking for the item back
    ok(client.call("POST", APPROVE.format(return_id), body={"decision": "DIRECT_REFUND"}))
    # Then the return is refunded and the change notified
    (found,) = search(client, {"return_ids": [return_id]})
    assert found["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    sim.deliver_webhooks()
    assert [(e["type"], e["data"]["return_status"]) for e in receiver.envelopes()] == [
        (12, "RETURN_OR_REFUND_REQUEST_PENDING"),
        (12, "RETURN_OR_REFUND_REQUEST_SUCCESS"),
    ]


def test_reject_takes_only_a_reason_the_platform_offers(
    sim: Simulator, client: Client, receiver: Receiver
) -> None:
    return_id = sim.return_request(SHOP_ID, buyer_user_id="7494001", order_id="576000000000000001")
    reasons = ok(client.call("GET", REASONS, {"return_or_cancel_id": return_id}))["reasons"]
    assert reasons and all(set(r) == {"name", "text"} for r in reasons)
    path = REJECT_202606.format(return_id)
    # When the seller rejects with a reason that is not offered, or none at all
    for body in (
        {"decision": "REJECT_REFUND", "reject_reason": "seller_reject_because_i_say_so"},
        {"decision": "REJECT_REFUND"},
    ):
        status, answer = client.call("POST", path, body=body)
        # Then it is refused, clearly, and nothing changed
        assert (status, answer["code"]) == (400, 40006)
        assert "reject_reason" in answer["message"] and "Get Reject Reasons" in answer["message"]
    (found,) = search(client, {"return_ids": [return_id]})
    assert found["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"
    sim.deliver_webhooks()
    assert len(receiver.envelopes()) == 1  # the request only
    # When it uses an offered reason, with a comment
    body = {"decision": "REJECT_REFUND", "reject_reason": reasons[0]["name"], "comment": "Used."}
    ok(client.call("POST", path, body=body))
    # Then the return is rejected, and its records tell the story
    (found,) = search(client, {"return_ids": [return_id]})
    assert found["return_status"] == "REFUND_OR_RETURN_REQUEST_REJECT"
    records = ok(
        client.call("GET", f"/return_refund/202309/returns/{return_id}/records", {"locale": "en"})
    )["records"]
    assert [(r["role"], r["event"]) for r in records] == [
        ("BUYER", "BUYER_REQUEST"),
        ("SELLER", "SELLER_REJECT"),
    ]
    assert records[1]["reason_text"] == reasons[0]["text"] and records[1]["note"] == "Used."
    assert records[0]["reason_text"] == "The item arrived damaged."
    # And a return of another shop is not found
    status, _ = client.call("GET", REASONS, {"return_or_cancel_id": "1"})
    assert status == 404


def test_partial_refund_after_inspecting_the_package(sim: Simulator, client: Client) -> None:
    return_id = sim.return_request(
        SHOP_ID,
        buyer_user_id="7494001",
        order_id="576000000000000001",
        return_type="RETURN_AND_REFUND",
    )
    ok(client.call("POST", APPROVE.format(return_id), body={"decision": "APPROVE_RETURN"}))
    sim.return_update(return_id, "BUYER_SHIPPED_ITEM")
    reason = ok(client.call("GET", REASONS, {"return_or_cancel_id": return_id}))["reasons"][0]
    offer = {
        "decision": "OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG",
        "reject_reason": reason["name"],
        "partial_refund_amount": {"partial_refund_total": "5.00", "currency": "USD"},
    }
    # 202309 never had this decision
    status, _ = client.call("POST", f"/return_refund/202309/returns/{return_id}/reject", body=offer)
    assert status == 400
    # When the seller offers part of the refund at 202606
    ok(client.call("POST", REJECT_202606.format(return_id), body=offer))
    # Then the buyer is asked, and the offer is on the return
    (found,) = search(client, {"return_ids": [return_id]})
    assert found["return_status"] == "AWAITING_BUYER_RESPONSE"
    assert found["seller_proposed_return_type"] == "PARTIAL_REFUND"
    assert found["partial_refund"] == {"currency": "USD", "amount": "5.00"}


# --- orders and cancellations -----------------------------------------------------------------
def test_order_detail_gives_the_buyer_that_create_conversation_needs(
    sim: Simulator, client: Client
) -> None:
    first = sim.order_create(
        SHOP_ID, buyer_user_id="7494001", products=[("Lamp", "White", "24.50")]
    )
    second = sim.order_create(SHOP_ID, buyer_user_id="7494002")
    theirs = sim.order_create(OTHER_SHOP, buyer_user_id="7494003")
    # When the shop reads its orders, ids comma-joined in one value (and one not its own)
    orders = ok(client.call("GET", ORDERS, {"ids": f"{first},{second},{theirs}"}))["orders"]
    # Then it gets its two, each with its buyer's user_id, lines and payment
    assert [(o["id"], o["user_id"]) for o in orders] == [(first, "7494001"), (second, "7494002")]
    assert orders[0]["payment"]["total_amount"] == "24.50"
    assert orders[0]["line_items"][0]["product_name"] == "Lamp"
    assert None not in orders[0].values()
    # And that user_id opens a conversation the shop may write in (a recent order)
    created = ok(client.call("POST", f"{CS}/conversations", body={"buyer_user_id": "7494001"}))
    (conversation,) = ok(client.call("GET", f"{CS}/conversations", {"page_size": "5"}))[
        "conversations"
    ]
    assert conversation["id"] == created["conversation_id"]
    buyer = next(p for p in conversation["participants"] if p["role"] == "BUYER")
    assert buyer["user_id"] == "7494001" and conversation["can_send_message"] is True
    # And bad ids are refused clearly
    for ids in ("", "abc", ",".join(str(576 * 10**15 + n) for n in range(51))):
        status, body = client.call("GET", ORDERS, {"ids": ids} if ids else {})
        assert (status, body["code"]) == (400, 40006) and "ids" in body["message"]


def test_cancellations_are_searched_and_notified(
    sim: Simulator, client: Client, receiver: Receiver
) -> None:
    order_id = sim.order_create(SHOP_ID, buyer_user_id="7494001")
    other = sim.order_create(SHOP_ID, buyer_user_id="7494002")
    # Given a buyer asks to cancel, and the seller cancels another order
    cancel_id = sim.cancellation_request(SHOP_ID, order_id=order_id, reason_text="Wrong address")
    sim.cancellation_request(SHOP_ID, order_id=other, role="SELLER")
    # When cancellations are searched at 202602
    data = ok(client.call("POST", CANCELLATIONS, body={"cancel_types": ["BUYER_CANCEL"]}))
    (found,) = data["cancellations"]
    assert (data["total_count"], found["cancel_id"], found["order_id"]) == (1, cancel_id, order_id)
    assert found["cancel_status"] == "CANCELLATION_REQUEST_PENDING" and found["role"] == "BUYER"
    assert found["seller_next_action_response"][0]["action"] == "SELLER_RESPOND_BUYER_CANCEL"
    assert found["cancel_reason_text"] == "Wrong address"
    (detail,) = ok(client.call("GET", ORDERS, {"ids": order_id}))["orders"]
    assert detail["is_buyer_request_cancel"] is True
    # And the seller's reasons to refuse a cancellation are offered for it
    reasons = ok(client.call("GET", REASONS, {"return_or_cancel_id": cancel_id}))["reasons"]
    assert reasons
    # When the platform grants it
    sim.cancellation_update(cancel_id, "CANCELLATION_REQUEST_SUCCESS")
    # Then the order is cancelled, and every change was notified as type 11
    (detail,) = ok(client.call("GET", ORDERS, {"ids": order_id}))["orders"]
    assert detail["status"] == "CANCELLED" and detail["cancellation_initiator"] == "BUYER"
    sim.deliver_webhooks()
    events = [
        (e["type"], e["data"]["cancel_status"], e["data"]["order_id"]) for e in receiver.envelopes()
    ]
    assert events == [
        (11, "CANCELLATION_REQUEST_PENDING", order_id),
        (11, "CANCELLATION_REQUEST_COMPLETE", other),
        (11, "CANCELLATION_REQUEST_SUCCESS", order_id),
    ]
    assert set(receiver.envelopes()[0]["data"]) == {
        "order_id",
        "cancellations_role",
        "cancel_status",
        "cancel_id",
        "create_time",
    }


def test_the_seller_answers_a_buyers_cancellation(
    sim: Simulator, client: Client, receiver: Receiver
) -> None:
    kept = sim.order_create(SHOP_ID, buyer_user_id="7494001")
    dropped = sim.order_create(SHOP_ID, buyer_user_id="7494002")
    keep_id = sim.cancellation_request(SHOP_ID, order_id=kept)
    drop_id = sim.cancellation_request(SHOP_ID, order_id=dropped)
    base = "/return_refund/202309/cancellations/{}/{}"
    # When the seller refuses one with a reason that is not offered, then with one that is
    status, body = client.call(
        "POST", base.format(keep_id, "reject"), body={"reject_reason": "no_reason"}
    )
    assert (status, body["code"]) == (400, 40006) and "Get Reject Reasons" in body["message"]
    name = ok(client.call("GET", REASONS, {"return_or_cancel_id": keep_id}))["reasons"][0]["name"]
    ok(client.call("POST", base.format(keep_id, "reject"), body={"reject_reason": name}))
    # And approves the other (twice with one idempotency key: one decision)
    for _ in range(2):
        ok(client.call("POST", base.format(drop_id, "approve"), {"idempotency_key": "c1"}, {}))
    # Then the refused one ended and its order stands; the approved one cancelled its order
    orders = ok(client.call("GET", ORDERS, {"ids": f"{kept},{dropped}"}))["orders"]
    assert [(o["status"], o["is_buyer_request_cancel"]) for o in orders] == [
        ("AWAITING_SHIPMENT", False),
        ("CANCELLED", False),
    ]
    # And a decided cancellation cannot be decided again; an unknown one is not found
    status, _ = client.call("POST", base.format(drop_id, "approve"), body={})
    assert status == 409
    status, _ = client.call("POST", base.format("1", "approve"), body={})
    assert status == 404
    sim.deliver_webhooks()
    statuses = [(e["data"]["cancel_id"], e["data"]["cancel_status"]) for e in receiver.envelopes()]
    assert statuses[2:] == [
        (keep_id, "CANCELLATION_REQUEST_CANCELLED"),
        (drop_id, "CANCELLATION_REQUEST_SUCCESS"),
    ]


def test_control_api_seeds_orders_cancellations_and_returns(
    sim: Simulator, server: SimulatorServer, client: Client
) -> None:
    control = httpx.Client(base_url=server.base_url, timeout=5, trust_env=False)

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = control.post(path, json=body).json()
        assert answer["code"] == 0, answer
        return answer["data"]

    order_id = post(
        "/_sim/order",
        {
            "shop_id": SHOP_ID,
            "buyer_user_id": "7494001",
            "products": [{"name": "Mug", "price": "9.5"}],
        },
    )["order_id"]
    cancel_id = post("/_sim/cancellation_request", {"shop_id": SHOP_ID, "order_id": order_id})[
        "cancel_id"
    ]
    post(
        "/_sim/cancellation_update",
        {"cancel_id": cancel_id, "status": "CANCELLATION_REQUEST_CANCEL"},
    )
    return_id = post(
        "/_sim/return_request",
        {
            "shop_id": SHOP_ID,
            "buyer_user_id": "7494001",
            "order_id": order_id,
            "return_type": "EXCHANGE",
        },
    )["return_id"]
    post("/_sim/return_update", {"return_id": return_id, "status": "EXCHANGE_REQUEST_CANCEL"})
    (cancellation,) = ok(client.call("POST", CANCELLATIONS, body={}))["cancellations"]
    assert cancellation["cancel_status"] == "CANCELLATION_REQUEST_CANCEL"
    (found,) = search(client, {"order_ids": [order_id]})
    assert (found["return_type"], found["return_status"]) == ("EXCHANGE", "EXCHANGE_REQUEST_CANCEL")
    # A bad control request is a clear 400
    answer = control.post("/_sim/cancellation_update", json={"cancel_id": cancel_id, "status": "X"})
    assert answer.status_code == 400


# --- performance -------------------------------------------------------------------------------
def test_performance_has_conversion_and_guided_gmv(
    sim: Simulator, client: Client, clock: Clock
) -> None:
    cid, _ = sim.buyer_message(
        SHOP_ID, buyer_user_id="7494001", nickname="Emily", text="hi", at=clock() - 600
    )
    sim.buyer_message(SHOP_ID, buyer_user_id="7494002", nickname="Noa", text="?", at=clock() - 600)
    body = {"type": "TEXT", "content": json.dumps({"content": "hello"})}
    ok(client.call("POST", SEND_202606.format(cid), body=body))
    # Given the answered buyer orders after the answer
    sim.order_create(SHOP_ID, buyer_user_id="7494001", products=[("Lamp", "White", "24.50")])
    day = time.strftime("%Y-%m-%d", time.gmtime(clock() - 600))
    after = time.strftime("%Y-%m-%d", time.gmtime(clock() + 86400))
    perf = ok(
        client.call(
            "GET",
            "/customer_service/202407/performance",
            {"support_date_ge": day, "support_date_lt": after},
        )
    )["performance"]
    assert perf["support_session_count"] == 2
    assert (perf["conversion_rate"], perf["cs_guided_gmv"], perf["currency"]) == (
        "50.0",
        "24.50",
        "USD",
    )
