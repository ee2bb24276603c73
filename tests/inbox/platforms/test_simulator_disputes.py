"""The simulator's after-sales life outside the seller's decision (issue 13): seller deadlines
per status, arbitration of a rejected return, buyers who withdraw while the seller decides,
the platform deciding at the deadline, and the evidence photos it serves. Real HTTP against a
real uvicorn server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from inbox.platforms.tiktok_shop.simulator import Simulator, SimulatorServer
from tests.inbox.platforms.test_simulator import (
    CASE_EVENTS,
    SHOP_ID,
    Client,
    Clock,
    Receiver,
    subscribed,
)

SEARCH = "/return_refund/202602/returns/search"
CANCELLATIONS = "/return_refund/202602/cancellations/search"
APPROVE = "/return_refund/202309/returns/{}/approve"
REJECT = "/return_refund/202606/returns/{}/reject"
CANCEL_DECIDE = "/return_refund/202309/cancellations/{}/{}"
RECORDS = "/return_refund/202309/returns/{}/records"
DAY = 86400


@pytest.fixture
def receiver(sim: Simulator, client: Client, receiver: Receiver) -> Receiver:
    return subscribed(sim, receiver, CASE_EVENTS)


def ok(answer: tuple[int, dict[str, Any]]) -> Any:
    status, body = answer
    assert (status, body["code"]) == (200, 0), body
    return body["data"]


def the_return(client: Client, return_id: str) -> dict[str, Any]:
    (found,) = ok(client.call("POST", SEARCH, body={"return_ids": [return_id]}))["return_orders"]
    return found


def the_cancellation(client: Client, cancel_id: str) -> dict[str, Any]:
    body = {"cancel_ids": [cancel_id]}
    (found,) = ok(client.call("POST", CANCELLATIONS, body=body))["cancellations"]
    return found


def reject_reason(client: Client, case_id: str) -> str:
    query = {"return_or_cancel_id": case_id}
    reasons = ok(client.call("GET", "/return_refund/202309/reject_reasons", query))["reasons"]
    return str(reasons[0]["name"])


def request(sim: Simulator, n: int, return_type: str = "REFUND", **kwargs: Any) -> str:
    return sim.return_request(
        SHOP_ID,
        buyer_user_id=f"74940{n:02d}",
        order_id=f"5760000000000{n:05d}",
        return_type=return_type,
        **kwargs,
    )


# --- deadlines ---------------------------------------------------------------------------------
def test_each_status_waiting_for_the_seller_has_its_deadline(
    sim: Simulator, client: Client, clock: Clock
) -> None:
    # Given a request of each type, a parcel on its way back and a buyer's cancellation
    refund, ret, replacement, exchange = (
        request(sim, n, t)
        for n, t in enumerate(("REFUND", "RETURN_AND_REFUND", "REPLACEMENT", "EXCHANGE"))
    )
    shipped = request(sim, 5, "RETURN_AND_REFUND")
    clock.now += 3600
    sim.return_update(shipped, "BUYER_SHIPPED_ITEM")
    cancel_id = sim.cancellation_request(
        SHOP_ID, order_id=sim.order_create(SHOP_ID, buyer_user_id="7494099")
    )
    # Then each names the seller's action and the platform's deadline for it
    due = {
        case_id: the_return(client, case_id)["seller_next_action_response"]
        for case_id in (refund, ret, replacement, exchange, shipped)
    }
    start = int(clock.now) - 3600
    assert due[refund] == [{"action": "SELLER_RESPOND_REFUND", "deadline": start + 2 * DAY}]
    assert due[ret] == [{"action": "SELLER_RESPOND_RETURN", "deadline": start + 2 * DAY}]
    assert due[replacement] == [
        {"action": "SELLER_RESPOND_REPLACEMENT", "deadline": start + 2 * DAY}
    ]
    assert due[exchange] == []  # the action enumeration names none for an exchange
    # a returned parcel is judged within eight days of the buyer shipping it
    assert due[shipped] == [
        {"action": "SELLER_RESPOND_RECEIVE_PACKAGE", "deadline": int(clock.now) + 8 * DAY}
    ]
    assert the_cancellation(client, cancel_id)["seller_next_action_response"] == [
        {"action": "SELLER_RESPOND_BUYER_CANCEL", "deadline": int(clock.now) + 2 * DAY}
    ]
    # And once decided, nothing is due from the seller
    ok(client.call("POST", APPROVE.format(refund), body={"decision": "APPROVE_REFUND"}))
    assert the_return(client, refund)["seller_next_action_response"] == []


def test_the_platform_decides_for_the_buyer_when_the_deadline_passes(
    sim: Simulator, client: Client, clock: Clock, receiver: Receiver
) -> None:
    refund = request(sim, 1)
    ret = request(sim, 2, "RETURN_AND_REFUND")
    cancel_id = sim.cancellation_request(
        SHOP_ID, order_id=sim.order_create(SHOP_ID, buyer_user_id="7494099")
    )
    # Before the deadline nothing moves
    clock.now += 2 * DAY - 1
    assert sim.expire_deadlines() == []
    # When it passes, the platform approves each request (the returned one goes to shipping)
    clock.now += 1
    assert sorted(sim.expire_deadlines()) == sorted([refund, ret, cancel_id])
    assert the_return(client, refund)["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    assert the_return(client, ret)["return_status"] == "AWAITING_BUYER_SHIP"
    assert the_cancellation(client, cancel_id)["cancel_status"] == "CANCELLATION_REQUEST_SUCCESS"
    records = ok(client.call("GET", RECORDS.format(refund)))["records"]
    assert (records[-1]["event"], records[-1]["role"]) == ("SYSTEM_AUTO_APPROVE", "SYSTEM")
    # And the seller's late decision is refused, naming the state the case is in
    status, body = client.call("POST", APPROVE.format(refund), body={"decision": "APPROVE_REFUND"})
    assert (status, body["code"]) == (409, 40009)
    assert "RETURN_OR_REFUND_REQUEST_SUCCESS" in body["message"]
    assert sim.return_decisions(refund) == []
    # And each change was notified, the platform's as SYSTEM
    sim.deliver_webhooks()
    roles = [e["data"].get("return_role") for e in receiver.envelopes() if e["type"] == 12]
    assert roles == ["BUYER", "BUYER", "SYSTEM", "SYSTEM"]


# --- arbitration -------------------------------------------------------------------------------
def test_a_rejected_return_escalated_by_the_buyer_leaves_the_sellers_hands(
    sim: Simulator, server: SimulatorServer, client: Client, clock: Clock, receiver: Receiver
) -> None:
    control = httpx.Client(base_url=server.base_url, trust_env=False)
    return_id = request(sim, 1)
    # Given the seller rejected the refund
    body = {"decision": "REJECT_REFUND", "reject_reason": reject_reason(client, return_id)}
    ok(client.call("POST", REJECT.format(return_id), body=body))
    assert "arbitration_status" not in the_return(client, return_id)
    # When the buyer asks the platform to step in (through the control API)
    clock.now += 60
    answer = control.post("/_sim/arbitration", json={"return_id": return_id, "action": "escalate"})
    assert answer.json()["code"] == 0
    # Then the return is in arbitration, with nothing for the seller to do
    found = the_return(client, return_id)
    assert found["arbitration_status"] == "IN_PROGRESS"
    assert found["return_status"] == "REFUND_OR_RETURN_REQUEST_REJECT"
    assert found["seller_next_action_response"] == []
    assert found["update_time"] == int(clock.now)
    # And a decision now is refused as in arbitration
    status, body = client.call(
        "POST", APPROVE.format(return_id), body={"decision": "APPROVE_REFUND"}
    )
    assert (status, body["code"]) == (409, 40011) and "arbitration" in body["message"]
    # When the platform rules for the buyer
    clock.now += 60
    answer = control.post(
        "/_sim/arbitration", json={"return_id": return_id, "action": "SUPPORT_BUYER"}
    )
    assert answer.json()["code"] == 0
    found = the_return(client, return_id)
    assert (found["arbitration_status"], found["return_status"]) == (
        "SUPPORT_BUYER",
        "RETURN_OR_REFUND_REQUEST_SUCCESS",
    )
    # And a second escalation, or a ruling without one, is a bad control request
    again = control.post("/_sim/arbitration", json={"return_id": return_id, "action": "escalate"})
    assert (again.status_code, again.json()["code"]) == (400, 40006)
    # Each step was notified (the seller's reject, the escalation, the ruling)
    sim.deliver_webhooks()
    changes = [(e["data"]["return_status"], e["data"]["return_role"]) for e in receiver.envelopes()]
    assert changes[1:] == [
        ("REFUND_OR_RETURN_REQUEST_REJECT", "SELLER"),
        ("REFUND_OR_RETURN_REQUEST_REJECT", "BUYER"),
        ("RETURN_OR_REFUND_REQUEST_SUCCESS", "SYSTEM"),
    ]
    assert [r["event"] for r in ok(client.call("GET", RECORDS.format(return_id)))["records"]] == [
        "BUYER_REQUEST",
        "SELLER_REJECT",
        "BUYER_APPEAL",
        "PLATFORM_ARBITRATION",
    ]


def test_a_buyer_has_two_days_to_escalate_and_the_seller_can_win(
    sim: Simulator, client: Client, clock: Clock
) -> None:
    late, won = request(sim, 1), request(sim, 2)
    for return_id in (late, won):
        body = {"decision": "REJECT_REFUND", "reject_reason": reject_reason(client, return_id)}
        ok(client.call("POST", REJECT.format(return_id), body=body))
    sim.return_escalate(won)
    sim.arbitration_rule(won, "SUPPORT_SELLER")
    found = the_return(client, won)
    assert (found["arbitration_status"], found["return_status"]) == (
        "SUPPORT_SELLER",
        "REFUND_OR_RETURN_REQUEST_REJECT",
    )
    clock.now += 2 * DAY + 1
    with pytest.raises(ValueError, match="two days"):
        sim.return_escalate(late)
    with pytest.raises(ValueError, match="rejected"):
        sim.return_escalate(request(sim, 3))


# --- buyers who cancel while the seller decides ------------------------------------------------
def test_a_buyer_who_withdraws_while_the_seller_decides_gets_the_decision_refused(
    sim: Simulator, server: SimulatorServer, client: Client, receiver: Receiver
) -> None:
    control = httpx.Client(base_url=server.base_url, trust_env=False)
    return_id, other = request(sim, 1), request(sim, 2)
    # Given the seller read the pending request
    assert the_return(client, return_id)["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"
    # And the buyer will withdraw it just before the seller's decision arrives
    armed = control.post("/_sim/withdraw_before_decision", json={"case_id": return_id})
    assert armed.json()["code"] == 0
    # When the seller approves
    status, body = client.call(
        "POST",
        APPROVE.format(return_id),
        {"idempotency_key": "k1"},
        {"decision": "APPROVE_REFUND"},
    )
    # Then the platform refuses: the buyer cancelled it; no decision is recorded
    assert (status, body["code"]) == (409, 40010)
    assert "RETURN_OR_REFUND_REQUEST_CANCEL" in body["message"]
    assert the_return(client, return_id)["return_status"] == "RETURN_OR_REFUND_REQUEST_CANCEL"
    assert sim.return_decisions(return_id) == []
    # And the same key again is refused again (no decision was taken with it)
    status, body = client.call(
        "POST",
        APPROVE.format(return_id),
        {"idempotency_key": "k1"},
        {"decision": "APPROVE_REFUND"},
    )
    assert (status, body["code"]) == (409, 40010)
    # And the switch was for that case only: another decision goes through
    ok(client.call("POST", APPROVE.format(other), body={"decision": "APPROVE_REFUND"}))
    # And the withdrawal was notified as the buyer's
    sim.deliver_webhooks()
    withdrawn = [
        e["data"]
        for e in receiver.envelopes()
        if e["data"]["return_id"] == return_id and e["data"]["return_role"] == "BUYER"
    ]
    assert [d["return_status"] for d in withdrawn] == [
        "RETURN_OR_REFUND_REQUEST_PENDING",
        "RETURN_OR_REFUND_REQUEST_CANCEL",
    ]


def test_a_withdrawn_cancellation_refuses_the_sellers_answer(
    sim: Simulator, server: SimulatorServer, client: Client
) -> None:
    control = httpx.Client(base_url=server.base_url, trust_env=False)
    first, second = (
        sim.cancellation_request(
            SHOP_ID, order_id=sim.order_create(SHOP_ID, buyer_user_id=f"749409{n}")
        )
        for n in range(2)
    )
    # Any case: the next decision, whichever case it is about, meets a withdrawal
    assert control.post("/_sim/withdraw_before_decision", json={}).json()["code"] == 0
    status, body = client.call("POST", CANCEL_DECIDE.format(first, "approve"), body={})
    assert (status, body["code"]) == (409, 40010)
    assert the_cancellation(client, first)["cancel_status"] == "CANCELLATION_REQUEST_CANCEL"
    ok(client.call("POST", CANCEL_DECIDE.format(second, "approve"), body={}))
    # A buyer may also withdraw at any time before the seller answers (control API)
    third = sim.cancellation_request(
        SHOP_ID, order_id=sim.order_create(SHOP_ID, buyer_user_id="7494093")
    )
    assert control.post("/_sim/withdraw", json={"case_id": third}).json()["code"] == 0
    assert the_cancellation(client, third)["seller_next_action_response"] == []
    late = control.post("/_sim/withdraw", json={"case_id": third})
    assert (late.status_code, late.json()["code"]) == (400, 40006)


# --- evidence ----------------------------------------------------------------------------------
def test_a_buyers_evidence_photos_are_served_by_the_simulator(
    sim: Simulator, server: SimulatorServer, client: Client
) -> None:
    return_id = request(
        sim,
        1,
        reason_text="The parcel arrived crushed, damaged in transit.",
        evidence=["damaged-parcel", "damaged-item"],
    )
    (first, *_) = ok(client.call("GET", RECORDS.format(return_id)))["records"]
    assert first["event"] == "BUYER_REQUEST"
    images = first["images"]
    assert [i["url"] for i in images] == [
        f"{server.base_url}/_sim/media/evidence/damaged-parcel.png",
        f"{server.base_url}/_sim/media/evidence/damaged-item.png",
    ]
    for image in images:
        answer = httpx.get(image["url"], trust_env=False)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        assert answer.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert (image["width"], image["height"]) == (480, 360)
    assert httpx.get(f"{server.base_url}/_sim/media/evidence/x.png").status_code == 404


# --- demo traffic ------------------------------------------------------------------------------
def test_demo_traffic_opens_after_sales_requests_with_photos_and_buyers_who_withdraw(
    sim: Simulator, server: SimulatorServer, client: Client
) -> None:
    from inbox.platforms.tiktok_shop.simulator.traffic import Traffic

    # Given the demo's buyers at work for 200 steps
    traffic = Traffic(sim, per_minute=4, shop_ids=[SHOP_ID], seed=4)
    for _ in range(200):
        traffic.step()
    with sim.lock:
        returns = list(sim.returns.values())
        cancellations = list(sim.cancellations.values())
        armed = dict(sim.withdraw_before_decision_armed)
    # Then about one step in ten asked for after-sales: refunds, returns, replacements and
    # cancellations, about parcels damaged in transit and wrong sizes, in two languages
    assert 10 <= len(returns) + len(cancellations) <= 35
    assert {r.return_type for r in returns} == {"REFUND", "RETURN_AND_REFUND", "REPLACEMENT"}
    assert cancellations
    reasons = " ".join(r.return_reason_text for r in returns)
    assert "damaged in transit" in reasons.lower() or "运输途中损坏" in reasons
    assert "wrong size" in reasons.lower() or "尺码" in reasons
    # And each return carries the buyer's photos, which the simulator serves
    photos = [image for r in returns for image in r.records[0].get("images", [])]
    assert len(photos) >= len(returns)
    assert httpx.get(photos[0]["url"], trust_env=False).headers["content-type"] == "image/png"
    # And some buyers withdraw just as the seller decides: those decisions are refused
    pending = [r for r in returns if r.return_status == "RETURN_OR_REFUND_REQUEST_PENDING"]
    refused = 0
    for item in pending:
        if item.return_type == "REFUND":
            body = {
                "decision": "REJECT_REFUND",
                "reject_reason": reject_reason(client, item.return_id),
            }
            status, answer = client.call("POST", REJECT.format(item.return_id), body=body)
        else:
            body = {"decision": "APPROVE_RETURN"}
            status, answer = client.call("POST", APPROVE.format(item.return_id), body=body)
        refused += (status, answer["code"]) == (409, 40010)
        assert (status, answer["code"]) in ((200, 0), (409, 40010))
        assert (status == 409) == (item.return_id in armed)
    for cancellation in cancellations:
        if cancellation.status == "CANCELLATION_REQUEST_PENDING":
            url = CANCEL_DECIDE.format(cancellation.cancel_id, "approve")
            status, answer = client.call("POST", url, body={})
            assert (status == 409) == (cancellation.cancel_id in armed)
            refused += status == 409
    assert refused
    # And after the seller's answers, buyers move their cases on: they ship the parcel back,
    # withdraw, escalate a rejection to the platform
    for _ in range(300):
        traffic.step()
    with sim.lock:
        events = {record["event"] for r in sim.returns.values() for record in r.records}
    assert {"BUYER_SHIPPED_ITEM", "BUYER_CANCEL", "BUYER_APPEAL"} <= events
