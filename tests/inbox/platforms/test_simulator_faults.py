"""The simulator's fault switches work for the after-sales endpoints as for chat (issue 13):
5xx, throttling, slow answers (before or after acting) on the returns, cancellations, order and
decision endpoints, and duplicates, reordering and drops of their webhooks, on demand and in
the background push. Real HTTP against a real uvicorn server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from inbox.platforms.tiktok_shop.simulator import Simulator
from tests.inbox.platforms.test_simulator import (
    APP_KEY,
    APP_SECRET,
    CASE_EVENTS,
    SHOP_ID,
    Client,
    Receiver,
    subscribed,
)

REASONS = "/return_refund/202309/reject_reasons"


@pytest.fixture
def clock() -> Callable[[], float]:
    """Faults wait for real: the simulator and the client keep the real clock."""
    return time.time


@dataclass
class Endpoint:
    method: str
    path: str  # with {} for the case id
    body: Callable[[Client, str], Any]
    decided: Callable[[Simulator, str], bool] | None = None  # for decisions: did it act?


def _reason(client: Client, case_id: str) -> dict[str, Any]:
    _, body = client.call("GET", REASONS, {"return_or_cancel_id": case_id})
    return {"decision": "REJECT_REFUND", "reject_reason": body["data"]["reasons"][0]["name"]}


def _return_decided(sim: Simulator, return_id: str) -> bool:
    return bool(sim.return_decisions(return_id))


def _cancellation_decided(sim: Simulator, cancel_id: str) -> bool:
    with sim.lock:
        return bool(sim.cancellations[cancel_id].decisions)


ENDPOINTS = {
    "returns search": Endpoint(
        "POST", "/return_refund/202602/returns/search", lambda c, i: {"return_ids": [i]}
    ),
    "cancellations search": Endpoint(
        "POST", "/return_refund/202602/cancellations/search", lambda c, i: {"cancel_ids": [i]}
    ),
    "order detail": Endpoint("GET", "/order/202507/orders", lambda c, i: None),
    "return approve": Endpoint(
        "POST",
        "/return_refund/202309/returns/{}/approve",
        lambda c, i: {"decision": "APPROVE_REFUND"},
        _return_decided,
    ),
    "return reject": Endpoint(
        "POST", "/return_refund/202606/returns/{}/reject", _reason, _return_decided
    ),
    "cancellation approve": Endpoint(
        "POST",
        "/return_refund/202309/cancellations/{}/approve",
        lambda c, i: {},
        _cancellation_decided,
    ),
    "cancellation reject": Endpoint(
        "POST",
        "/return_refund/202309/cancellations/{}/reject",
        lambda c, i: {"reject_reason": _reason(c, i)["reject_reason"]},
        _cancellation_decided,
    ),
}


def _case(sim: Simulator, name: str) -> tuple[str, dict[str, str]]:
    """The id the endpoint is about, and its query (Get Order Detail takes ids)."""
    order_id = sim.order_create(SHOP_ID, buyer_user_id="7494001")
    if name.startswith("cancellation"):
        return sim.cancellation_request(SHOP_ID, order_id=order_id), {}
    if name == "order detail":
        return order_id, {"ids": order_id}
    return sim.return_request(SHOP_ID, buyer_user_id="7494001", order_id=order_id + "9"), {}


def _call(client: Client, name: str, case_id: str, query: dict[str, str]) -> tuple[int, dict]:
    endpoint = ENDPOINTS[name]
    body = endpoint.body(client, case_id)
    return client.call(endpoint.method, endpoint.path.format(case_id), query, body)


@pytest.mark.parametrize("name", list(ENDPOINTS))
@pytest.mark.parametrize(
    ("kind", "status", "code"), [("5xx", 503, 36009003), ("rate_limit", 429, 36009002)]
)
def test_an_error_fault_answers_the_error_and_does_nothing(
    sim: Simulator, client: Client, name: str, kind: str, status: int, code: int
) -> None:
    case_id, query = _case(sim, name)
    endpoint = ENDPOINTS[name]
    # Given the next call to this endpoint fails (by its path prefix, as for chat)
    sim.set_fault(endpoint.path.split("{}")[0], kind)
    # Then that call gets the error, and a decision is not taken
    answer = _call(client, name, case_id, query)
    assert (answer[0], answer[1]["code"]) == (status, code)
    if endpoint.decided is not None:
        assert not endpoint.decided(sim, case_id)
    # And the next one succeeds
    answer = _call(client, name, case_id, query)
    assert (answer[0], answer[1]["code"]) == (200, 0), answer
    if endpoint.decided is not None:
        assert endpoint.decided(sim, case_id)


@pytest.mark.parametrize("name", list(ENDPOINTS))
@pytest.mark.parametrize("kind", ["delay", "delay_after"])
def test_a_slow_answer_waits_before_or_after_acting(
    sim: Simulator, client: Client, name: str, kind: str
) -> None:
    case_id, query = _case(sim, name)
    endpoint = ENDPOINTS[name]
    body = endpoint.body(client, case_id)  # read the reasons before the fault is set
    sim.set_fault(endpoint.path.split("{}")[0], kind, delay=0.6)
    acted_while_waiting: list[bool] = []

    def watch() -> None:  # what the platform did while the caller still waits
        time.sleep(0.3)
        if endpoint.decided is not None:
            acted_while_waiting.append(endpoint.decided(sim, case_id))

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    answer = client.call(endpoint.method, endpoint.path.format(case_id), query, body)
    watcher.join()
    # Then the answer is late but a success
    assert time.monotonic() - started >= 0.55
    assert (answer[0], answer[1]["code"]) == (200, 0), answer
    # And a decision was taken before the answer came only when the fault acts first
    if endpoint.decided is not None:
        assert acted_while_waiting == [kind == "delay_after"]
        assert endpoint.decided(sim, case_id)


def test_a_fault_for_one_method_leaves_the_others_alone(sim: Simulator, client: Client) -> None:
    # Given the platform fails writes (POST) under the returns' API, reads still answering
    case_id, query = _case(sim, "return approve")
    sim.set_fault("/return_refund/202309/", "5xx", count=1, method="POST")
    # When a read under that prefix comes first, it succeeds and the fault waits for a write
    body = _reason(client, case_id)  # GET /return_refund/202309/reject_reasons
    assert body["reject_reason"]
    assert sim.faults and sim.faults[0].remaining == 1
    # Then the write gets the error and acts not, and the next write succeeds
    answer = _call(client, "return approve", case_id, query)
    assert (answer[0], answer[1]["code"]) == (503, 36009003)
    assert not _return_decided(sim, case_id)
    answer = _call(client, "return approve", case_id, query)
    assert (answer[0], answer[1]["code"]) == (200, 0), answer
    assert _return_decided(sim, case_id)


# --- webhooks ----------------------------------------------------------------------------------
@pytest.fixture
def receiver(sim: Simulator, client: Client, receiver: Receiver) -> Receiver:
    return subscribed(sim, receiver, (*CASE_EVENTS, "NEW_MESSAGE"))


def _seed_cases(sim: Simulator, n: int) -> None:
    for k in range(n):
        order_id = sim.order_create(SHOP_ID, buyer_user_id=f"74940{k:02d}")
        sim.cancellation_request(SHOP_ID, order_id=order_id)
        sim.return_request(SHOP_ID, buyer_user_id=f"74940{k:02d}", order_id=order_id + "9")


def test_case_webhooks_are_duplicated_reordered_dropped_and_lost_on_demand(
    sim: Simulator, receiver: Receiver
) -> None:
    _seed_cases(sim, 5)
    sim.buyer_message(SHOP_ID, buyer_user_id="7494099", nickname="Emily", text="hi")
    # When only the case notifications go out, each three times, shuffled, some copies dropped
    result = sim.deliver_webhooks(
        duplicate=3,
        shuffle=True,
        drop=0.2,
        seed=4,
        event_types=["RETURN_STATUS_CHANGE", "CANCELLATION_STATUS_CHANGE"],
    )
    ids = [e["tts_notification_id"] for e in receiver.envelopes()]
    # Then copies arrive out of order, some dropped, none of the chat's
    assert {e["type"] for e in receiver.envelopes()} == {11, 12}
    assert result["sent"] == len(ids) and result["dropped"] == 30 - len(ids) > 0
    assert max(ids.count(i) for i in ids) == 3
    first_seen = list(dict.fromkeys(ids))
    assert first_seen != sorted(first_seen, key=int)  # queued in id order, not so received
    # And the chat's notification is still queued, for a delivery of its own
    assert sim.pending_webhooks() == 1
    # And whole notifications can be lost, every copy of them
    receiver.received.clear()
    _seed_cases(sim, 5)
    result = sim.deliver_webhooks(
        duplicate=2, lose=0.5, seed=1, event_types=["RETURN_STATUS_CHANGE"]
    )
    arrived = {e["tts_notification_id"] for e in receiver.envelopes()}
    assert result["lost"] == 5 - len(arrived) > 0
    assert result["sent"] == 2 * len(arrived)


def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_background_push_applies_webhook_faults_to_the_chosen_events() -> None:
    receiver = Receiver()
    sim = Simulator(auto_push=True)
    sim.add_app(APP_KEY, APP_SECRET)
    sim.add_shop(APP_KEY, shop_id=SHOP_ID, name="Demo US", region="US")
    for event_type in ("RETURN_STATUS_CHANGE", "CANCELLATION_STATUS_CHANGE"):
        sim.subscribe(SHOP_ID, event_type, receiver.url)
    try:
        # Given returns' notifications are pushed twice; cancellations' untouched
        sim.set_webhook_faults(duplicate=2, event_types=["RETURN_STATUS_CHANGE"])
        _seed_cases(sim, 1)
        _wait_for(lambda: len(receiver.received) == 3)
        time.sleep(0.2)
        assert sorted(e["type"] for e in receiver.envelopes()) == [11, 12, 12]
        # When every return notification is dropped, and cancellations held back a while
        receiver.received.clear()
        sim.set_webhook_faults(drop=1.0, event_types=["RETURN_STATUS_CHANGE"])
        _seed_cases(sim, 1)
        _wait_for(lambda: len(receiver.received) == 1)
        time.sleep(0.3)
        assert [e["type"] for e in receiver.envelopes()] == [11]
        receiver.received.clear()
        sim.set_webhook_faults(jitter=1.0, seed=2, event_types=["CANCELLATION_STATUS_CHANGE"])
        started = time.monotonic()
        _seed_cases(sim, 4)
        _wait_for(lambda: len(receiver.received) == 8)
        # Then the held-back ones came later than the others, and not in the order queued
        types = [e["type"] for e in receiver.envelopes()]
        assert types[:4] == [12, 12, 12, 12]
        cancels = [e["data"]["cancel_id"] for e in receiver.envelopes() if e["type"] == 11]
        assert cancels != sorted(cancels)
        assert time.monotonic() - started < 5
        # And with the faults cleared, each is pushed once
        receiver.received.clear()
        sim.set_webhook_faults(duplicate=5)
        sim.clear_faults()
        _seed_cases(sim, 1)
        _wait_for(lambda: len(receiver.received) == 2)
        assert sorted(e["type"] for e in receiver.envelopes()) == [11, 12]
    finally:
        sim.close()
        receiver.httpd.shutdown()
