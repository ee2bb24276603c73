"""The TikTok Shop simulator: signing and token checks, paging, sends, tokens, webhooks,
faults, rate limits and serving under a prefix. Pure HTTP against a real uvicorn server."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from inbox.platforms.tiktok_shop.signing import sign_request, verify_webhook
from inbox.platforms.tiktok_shop.simulator import Simulator, SimulatorServer
from inbox.platforms.tiktok_shop.simulator.api import route_path
from inbox.platforms.tiktok_shop.simulator.traffic import Traffic

APP_KEY, APP_SECRET = "test_app_key", "test_app_secret"
SHOP_ID, OTHER_SHOP = "7000000000000000001", "7000000000000000002"
CS = "/customer_service/202309"


class Clock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


class Client:
    """Signs calls the way the platform expects (path below the prefix, exact body bytes)."""

    def __init__(self, base_url: str, token: str, cipher: str, clock: Any = time.time) -> None:
        self.base_url, self.token, self.cipher, self.clock = base_url, token, cipher, clock
        self.http = httpx.Client(timeout=5, trust_env=False)

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        *,
        cipher: bool = True,
        sign: str | None = None,
        token: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, dict[str, Any]]:
        query = {"app_key": APP_KEY, "timestamp": str(timestamp or int(self.clock()))}
        if cipher:
            query["shop_cipher"] = self.cipher
        query.update(params or {})
        raw = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        if sign != "":
            query["sign"] = sign or sign_request(APP_SECRET, path, query, raw)
        headers = {"content-type": "application/json"}
        if token != "":
            headers["x-tts-access-token"] = token or self.token
        response = self.http.request(
            method, self.base_url + path, params=query, content=raw, headers=headers
        )
        return response.status_code, response.json()


@pytest.fixture
def cipher(sim: Simulator) -> str:
    """The demo shop's cipher, with another shop of the app beside it."""
    sim.add_shop(APP_KEY, shop_id=OTHER_SHOP, name="Other UK", region="GB")
    return sim.add_shop(APP_KEY, shop_id=SHOP_ID, name="Demo US", region="US")


class Receiver:
    """A tiny webhook receiver (http.server in a thread) answering ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks/tiktok"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def envelopes(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


CASE_EVENTS = ("RETURN_STATUS_CHANGE", "CANCELLATION_STATUS_CHANGE")


def subscribed(sim: Simulator, receiver: Receiver, events: tuple[str, ...]) -> Receiver:
    """``receiver`` subscribed to ``events`` of the demo shop."""
    for event_type in events:
        sim.subscribe(SHOP_ID, event_type, receiver.url)
    return receiver


# --- signing and credentials ---------------------------------------------------------------------
def test_signed_call_succeeds_and_shops_refuse_a_cipher(client: Client) -> None:
    status, body = client.call("GET", "/authorization/202309/shops", cipher=False)
    assert status == 200 and body["code"] == 0
    assert [s["id"] for s in body["data"]["shops"]] == [SHOP_ID]
    assert body["data"]["shops"][0]["cipher"] == client.cipher

    status, body = client.call("GET", "/authorization/202309/shops")
    assert body["code"] == 36009004 and "Unexpected identifier" in body["message"]


def test_bad_or_missing_sign_is_refused(client: Client) -> None:
    status, body = client.call("GET", f"{CS}/conversations", {"page_size": "5"}, sign="0" * 64)
    assert (status, body["code"]) == (401, 106001)

    status, body = client.call("GET", f"{CS}/conversations", {"page_size": "5"}, sign="")
    assert body["code"] == 36009004 and "Missing signature" in body["message"]


def test_body_is_signed(client: Client) -> None:
    # Given a sign computed over a different body than the one sent
    query = {
        "app_key": APP_KEY,
        "timestamp": str(int(client.clock())),
        "shop_cipher": client.cipher,
    }
    path = f"{CS}/agents/settings"
    query["sign"] = sign_request(APP_SECRET, path, query, b'{"can_accept_chat":true}')
    response = client.http.put(
        client.base_url + path,
        params=query,
        content=b'{"can_accept_chat":false}',
        headers={"x-tts-access-token": client.token},
    )
    assert response.json()["code"] == 106001


def test_missing_invalid_and_expired_tokens(sim: Simulator, client: Client) -> None:
    params = {"page_size": "5"}
    assert client.call("GET", f"{CS}/conversations", params, token="")[1]["code"] == 101000
    assert client.call("GET", f"{CS}/conversations", params, token="nope")[1]["code"] == 101000

    sim.expire_access_token(client.token)
    status, body = client.call("GET", f"{CS}/conversations", params)
    assert (status, body["code"]) == (401, 105002)


def test_timestamp_window(client: Client, clock: Clock) -> None:
    now, params = int(clock()), {"page_size": "5"}
    assert client.call("GET", f"{CS}/conversations", params, timestamp=now - 299)[1]["code"] == 0
    for stale in (now - 301, now + 31):
        _status, body = client.call("GET", f"{CS}/conversations", params, timestamp=stale)
        assert body["code"] == 36009004 and "timestamp" in body["message"]


def test_shop_cipher_required_and_authorised(sim: Simulator, client: Client) -> None:
    status, body = client.call("GET", f"{CS}/conversations", {"page_size": "5"}, cipher=False)
    assert (status, body["code"]) == (400, 106013)

    other_cipher = sim.shops[OTHER_SHOP].cipher  # a shop this token was not granted
    body = client.call(
        "GET", f"{CS}/conversations", {"page_size": "5", "shop_cipher": other_cipher}
    )[1]
    assert body["code"] == 36009004


# --- paging ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", f"{CS}/conversations", {}),
        ("GET", f"{CS}/conversations", {"page_size": "21"}),
        ("GET", f"{CS}/conversations", {"page_size": "0"}),
        ("GET", f"{CS}/conversations/{{cid}}/messages", {}),
        ("GET", f"{CS}/conversations/{{cid}}/messages", {"page_size": "11"}),
        ("POST", "/return_refund/202309/returns/search", {"page_size": "9"}),
        ("POST", "/return_refund/202309/returns/search", {"page_size": "51"}),
    ],
)
def test_page_size_limits(
    sim: Simulator, client: Client, method: str, path: str, params: dict[str, str]
) -> None:
    cid, _ = sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="Emily R.", text="hi")
    status, body = client.call(
        method, path.format(cid=cid), params, body={} if method == "POST" else None
    )
    assert status == 400 and body["code"] != 0 and "page_size" in body["message"]


def test_conversations_page_newest_activity_first(
    sim: Simulator, client: Client, clock: Clock
) -> None:
    # Given 25 conversations, each with its own last activity time
    for n in range(25):
        sim.buyer_message(
            SHOP_ID, buyer_user_id=f"b{n}", nickname="王芳", text="在吗", at=clock() - 1000 + n
        )
    sim.buyer_message(SHOP_ID, buyer_user_id="b0", nickname="王芳", text="again", at=clock() - 10)

    _status, first = client.call("GET", f"{CS}/conversations", {"page_size": "20"})
    page1 = first["data"]["conversations"]
    token = first["data"]["next_page_token"]
    second = client.call("GET", f"{CS}/conversations", {"page_size": "20", "page_token": token})[1]
    page2 = second["data"]["conversations"]

    assert len(page1) == 20 and len(page2) == 5 and token
    assert second["data"]["next_page_token"] == ""
    ids = [c["id"] for c in page1 + page2]
    assert len(set(ids)) == 25
    times = [c["latest_message"]["create_time"] for c in page1 + page2]
    assert times == sorted(times, reverse=True)
    buyer = page1[0]["participants"][0]
    assert buyer["user_id"] == "b0" and buyer["role"] == "BUYER"
    assert {p["role"] for p in page1[0]["participants"]} == {"BUYER", "SHOP"}
    assert page1[0]["unread_count"] == 2 and page1[0]["can_send_message"] is True


def _all_messages(client: Client, cid: str, order: str) -> list[dict[str, Any]]:
    out, token = [], ""
    while True:
        params = {"page_size": "10", "sort_order": order}
        if token:
            params["page_token"] = token
        data = client.call("GET", f"{CS}/conversations/{cid}/messages", params)[1]["data"]
        assert len(data["messages"]) <= 10
        out += data["messages"]
        token = data["next_page_token"]
        if not token:
            return out


def test_messages_page_both_orders(sim: Simulator, client: Client, clock: Clock) -> None:
    for n in range(23):
        cid, _ = sim.buyer_message(
            SHOP_ID,
            buyer_user_id="b1",
            nickname="Jacob M.",
            text=f"m{n}",
            at=clock() - 100 + n // 3,
        )
    newest_first = _all_messages(client, cid, "DESC")
    oldest_first = _all_messages(client, cid, "ASC")

    texts = [json.loads(m["content"])["content"] for m in oldest_first]
    assert texts == [f"m{n}" for n in range(23)]
    assert newest_first == list(reversed(oldest_first))
    assert oldest_first == sim.messages(SHOP_ID, cid)


# --- sending -----------------------------------------------------------------------------------
def test_send_message_recorded_once_and_listed(sim: Simulator, client: Client) -> None:
    cid, _ = sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="Emily R.", text="size?")
    body = {"type": "TEXT", "content": json.dumps({"content": "True to size!"})}

    status, answer = client.call("POST", f"{CS}/conversations/{cid}/messages", body=body)

    assert status == 200 and answer["code"] == 0
    message_id = answer["data"]["message_id"]
    assert len(message_id) == 19 and message_id.isdigit()
    sent = sim.sent_messages(SHOP_ID)
    assert len(sent) == 1 and sent[0]["message_id"] == message_id
    assert sent[0]["content"] == {"content": "True to size!"} and sent[0]["conversation_id"] == cid
    listed = client.call("GET", f"{CS}/conversations/{cid}/messages", {"page_size": "10"})[1]
    newest = listed["data"]["messages"][0]
    assert newest["id"] == message_id and newest["sender"]["role"] == "SHOP"


@pytest.mark.parametrize(
    "body",
    [
        {"type": "TEXT", "content": json.dumps({"content": "x" * 2001})},
        {"type": "TEXT", "content": {"content": "not a string"}},
        {"type": "EMOTICONS", "content": json.dumps({"content": ":)"})},
        {"type": "ORDER_CARD", "content": json.dumps({})},
    ],
)
def test_send_message_rejects_bad_bodies(sim: Simulator, client: Client, body: Any) -> None:
    cid, _ = sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="Emily R.", text="hi")
    status, answer = client.call("POST", f"{CS}/conversations/{cid}/messages", body=body)
    assert status == 400 and answer["code"] != 0
    assert sim.sent_messages() == []


def test_read_create_and_unknown_conversation(sim: Simulator, client: Client) -> None:
    cid, _ = sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="Emily R.", text="hi")
    assert client.call("POST", f"{CS}/conversations/{cid}/messages/read", body={})[1]["code"] == 0
    listed = client.call("GET", f"{CS}/conversations", {"page_size": "1"})[1]
    assert listed["data"]["conversations"][0]["unread_count"] == 0

    again = client.call("POST", f"{CS}/conversations", body={"buyer_user_id": "b1"})[1]
    assert again["data"]["conversation_id"] == cid
    status, missing = client.call("GET", f"{CS}/conversations/123/messages", {"page_size": "1"})
    assert status == 404 and missing["code"] != 0


# --- tokens ------------------------------------------------------------------------------------
def _token_call(client: Client, path: str, **params: str) -> dict[str, Any]:
    query = {"app_key": APP_KEY, "app_secret": APP_SECRET, **params}
    return client.http.get(client.base_url + path, params=query).json()


def test_token_exchange_and_refresh(sim: Simulator, client: Client, clock: Clock) -> None:
    code = sim.issue_auth_code(APP_KEY, [SHOP_ID])

    got = _token_call(client, "/api/v2/token/get", auth_code=code, grant_type="authorized_code")
    assert got["code"] == 0
    data = got["data"]
    assert data["access_token_expire_in"] == int(clock()) + 7 * 86400  # absolute, not a duration
    assert data["refresh_token_expire_in"] > data["access_token_expire_in"]
    assert data["seller_name"] == "Demo US"
    reused = _token_call(client, "/api/v2/token/get", auth_code=code, grant_type="authorized_code")
    assert reused["code"] == 36004004

    refreshed = _token_call(
        client,
        "/api/v2/token/refresh",
        refresh_token=data["refresh_token"],
        grant_type="refresh_token",
    )["data"]
    assert refreshed["refresh_token"] != data["refresh_token"]
    assert refreshed["access_token"] != data["access_token"]
    old = client.call(
        "GET", "/authorization/202309/shops", cipher=False, token=data["access_token"]
    )
    assert old[1]["code"] == 101000
    new = client.call(
        "GET", "/authorization/202309/shops", cipher=False, token=refreshed["access_token"]
    )
    assert new[1]["code"] == 0
    stale = _token_call(
        client,
        "/api/v2/token/refresh",
        refresh_token=data["refresh_token"],
        grant_type="refresh_token",
    )
    assert stale["code"] != 0


def test_expired_auth_code(sim: Simulator, client: Client, clock: Clock) -> None:
    code = sim.issue_auth_code(APP_KEY, [SHOP_ID])
    clock.now += 31 * 60
    got = _token_call(client, "/api/v2/token/get", auth_code=code, grant_type="authorized_code")
    assert got["code"] == 36004004


# --- webhooks ----------------------------------------------------------------------------------
def test_webhook_subscription_api(client: Client, receiver: Receiver) -> None:
    hook = {"event_type": "NEW_MESSAGE", "address": receiver.url}
    assert client.call("PUT", "/event/202309/webhooks", body=hook)[1]["code"] == 0
    listed = client.call("GET", "/event/202309/webhooks")[1]["data"]
    assert listed["total_count"] == 1 and listed["webhooks"][0]["address"] == receiver.url
    assert (
        client.call("DELETE", "/event/202309/webhooks", body={"event_type": "NEW_MESSAGE"})[1][
            "code"
        ]
        == 0
    )
    assert (
        client.call("DELETE", "/event/202309/webhooks", body={"event_type": "NEW_MESSAGE"})[1][
            "code"
        ]
        == 0
    )
    assert client.call("GET", "/event/202309/webhooks")[1]["data"]["total_count"] == 0


def _subscribe_all(sim: Simulator, url: str) -> None:
    for event_type in ("NEW_MESSAGE", "NEW_CONVERSATION", "RETURN_STATUS_CHANGE"):
        sim.subscribe(SHOP_ID, event_type, url)


def test_webhooks_are_signed_and_shaped(sim: Simulator, cipher: str, receiver: Receiver) -> None:
    _subscribe_all(sim, receiver.url)
    cid, mid = sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="Emily R.", text="hi")
    sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="Emily R.", text="hello?")
    # NEW_MESSAGE each; no NEW_CONVERSATION, which is about agents (test_simulator_protocol.py)
    assert sim.pending_webhooks() == 2

    result = sim.deliver_webhooks()

    assert result == {"sent": 2, "dropped": 0, "statuses": {200: 2}}
    assert sim.pending_webhooks() == 0
    for headers, body in receiver.received:
        assert verify_webhook(APP_KEY, APP_SECRET, body, headers["Authorization"])
    first, second = receiver.envelopes()
    assert (first["type"], second["type"]) == (14, 14) and first["shop_id"] == SHOP_ID
    assert set(first) == {"type", "tts_notification_id", "shop_id", "timestamp", "data"}
    data = first["data"]
    assert data["message_id"] == mid and data["conversation_id"] == cid
    assert json.loads(data["content"]) == {"content": "hi"}
    assert data["sender"]["role"] == "BUYER" and data["is_visible"] is True and data["index"]


def test_duplicate_shuffle_and_drop_are_deterministic(clock: Clock, receiver: Receiver) -> None:
    def run(**kwargs: Any) -> tuple[dict[str, Any], list[str]]:
        receiver.received.clear()
        sim = Simulator(auto_push=False, clock=clock)
        sim.add_app(APP_KEY, APP_SECRET)
        sim.add_shop(APP_KEY, shop_id=SHOP_ID, name="Demo", region="US")
        _subscribe_all(sim, receiver.url)
        for n in range(5):
            sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="李娜", text=f"第{n}条")
        result = sim.deliver_webhooks(**kwargs)
        order = [
            json.loads(json.loads(b)["data"].get("content", "{}")).get("content", "new")
            for _, b in receiver.received
        ]
        return result, order

    result, order = run(duplicate=2)
    assert result["sent"] == 10 and order == [f"第{n}条" for n in range(5) for _ in (0, 1)]
    ids = [json.loads(b)["tts_notification_id"] for _, b in receiver.received]
    assert len(set(ids)) == 5

    shuffled, shuffled_order = run(shuffle=True, seed=3)
    assert shuffled["sent"] == 5 and sorted(shuffled_order) == sorted(order[::2])
    assert shuffled_order != order[::2]
    assert run(shuffle=True, seed=3)[1] == shuffled_order

    dropped, _ = run(duplicate=2, drop=0.5, seed=7)
    assert dropped["sent"] + dropped["dropped"] == 10 and 0 < dropped["dropped"] < 10
    assert run(duplicate=2, drop=0.5, seed=7)[0] == dropped


def test_failed_delivery_is_queued_for_retry(
    sim: Simulator, cipher: str, receiver: Receiver
) -> None:
    _subscribe_all(sim, receiver.url)
    receiver.status = 500
    sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="Emily R.", text="hi")
    assert sim.deliver_webhooks()["statuses"] == {500: 1}
    assert sim.pending_webhooks() == 1
    receiver.status = 200
    assert sim.deliver_webhooks()["statuses"] == {200: 1}
    assert sim.pending_webhooks() == 0


def test_auto_push_delivers_in_the_background(receiver: Receiver) -> None:
    sim = Simulator(auto_push=True)
    try:
        sim.add_app(APP_KEY, APP_SECRET)
        sim.add_shop(APP_KEY, shop_id=SHOP_ID, name="Demo", region="US")
        _subscribe_all(sim, receiver.url)
        sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="Emily R.", text="hi")
        deadline = time.monotonic() + 5
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # nothing else follows
        assert [e["type"] for e in receiver.envelopes()] == [14]
    finally:
        sim.close()


def test_shop_send_echoes_new_message(sim: Simulator, client: Client, receiver: Receiver) -> None:
    cid, _ = sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="Emily R.", text="hi")
    _subscribe_all(sim, receiver.url)
    body = {"type": "TEXT", "content": json.dumps({"content": "hello"})}
    client.call("POST", f"{CS}/conversations/{cid}/messages", body=body)
    sim.deliver_webhooks()
    (envelope,) = receiver.envelopes()
    assert envelope["type"] == 14 and envelope["data"]["sender"]["role"] == "SHOP"


# --- returns -----------------------------------------------------------------------------------
def test_return_search_and_decision(sim: Simulator, client: Client, receiver: Receiver) -> None:
    _subscribe_all(sim, receiver.url)
    return_id = sim.return_request(SHOP_ID, buyer_user_id="b1", order_id="576000000000000001")
    sim.return_request(SHOP_ID, buyer_user_id="b2", order_id="576000000000000002")

    found = client.call(
        "POST", "/return_refund/202309/returns/search", body={"order_ids": ["576000000000000001"]}
    )[1]["data"]
    assert found["total_count"] == 1 and found["return_orders"][0]["return_id"] == return_id
    assert found["return_orders"][0]["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"

    path = f"/return_refund/202309/returns/{return_id}/approve"
    assert (
        client.call("POST", path, {"idempotency_key": "k1"}, body={"decision": "APPROVE_REFUND"})[
            1
        ]["code"]
        == 0
    )
    assert (
        client.call("POST", path, {"idempotency_key": "k1"}, body={"decision": "APPROVE_REFUND"})[
            1
        ]["code"]
        == 0
    )
    assert client.call("POST", path, body={"decision": "APPROVE_REFUND"})[0] == 409
    assert [d["decision"] for d in sim.return_decisions(return_id)] == ["APPROVE_REFUND"]
    sim.deliver_webhooks()
    assert [e["type"] for e in receiver.envelopes()] == [12, 12, 12]
    assert receiver.envelopes()[-1]["data"]["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"


# --- faults, rate limit, serving ---------------------------------------------------------------
def test_faults(sim: Simulator, client: Client) -> None:
    params = {"page_size": "5"}
    sim.set_fault(f"{CS}/conversations", "5xx")
    sim.set_fault("/authorization", "rate_limit", count=2)
    sim.set_fault(f"{CS}/agents", "delay", delay=0.2)

    assert client.call("GET", f"{CS}/conversations", params)[0] == 503
    assert client.call("GET", f"{CS}/conversations", params)[0] == 200
    for _ in range(2):
        status, body = client.call("GET", "/authorization/202309/shops", cipher=False)
        assert (status, body["code"]) == (429, 36009002)
    assert client.call("GET", "/authorization/202309/shops", cipher=False)[1]["code"] == 0
    started = time.monotonic()
    assert client.call("GET", f"{CS}/agents/settings")[1]["data"] == {"can_accept_chat": True}
    assert time.monotonic() - started >= 0.2


def test_5xx_fault_then_recovery(sim: Simulator, client: Client) -> None:
    sim.set_fault(CS, "5xx", count=1)
    status, body = client.call("GET", f"{CS}/conversations", {"page_size": "5"})
    assert (status, body["code"]) == (503, 36009003)
    assert client.call("GET", f"{CS}/conversations", {"page_size": "5"})[1]["code"] == 0


def test_rate_limit_per_app_and_api(clock: Clock) -> None:
    sim = Simulator(auto_push=False, rate_limit_qps=2, clock=clock)
    sim.add_app(APP_KEY, APP_SECRET)
    cipher = sim.add_shop(APP_KEY, shop_id=SHOP_ID, name="Demo", region="US")
    token = sim.grant(APP_KEY, [SHOP_ID])["access_token"]
    with SimulatorServer(sim) as server:
        client = Client(server.base_url, token, cipher, clock)
        codes = [client.call("GET", f"{CS}/conversations", {"page_size": "5"}) for _ in range(3)]
        assert [(s, b["code"]) for s, b in codes] == [(200, 0), (200, 0), (429, 36009002)]
        # another API has its own bucket; time refills the first
        assert client.call("GET", f"{CS}/agents/settings")[1]["code"] == 0
        clock.now += 1
        assert client.call("GET", f"{CS}/conversations", {"page_size": "5"})[1]["code"] == 0


def test_served_under_a_prefix(sim: Simulator, cipher: str) -> None:
    token = sim.grant(APP_KEY, [SHOP_ID])["access_token"]
    with SimulatorServer(sim, root_path="/simulator/tiktok") as server:
        assert server.base_url.endswith("/simulator/tiktok")
        client = Client(server.base_url, token, cipher, sim.clock)
        assert client.call("GET", f"{CS}/conversations", {"page_size": "5"})[1]["code"] == 0
        assert client.call("GET", "/authorization/202309/shops", cipher=False)[1]["code"] == 0
        unknown = client.http.get(server.base_url + "/no/such/path")
        assert unknown.status_code == 404 and unknown.json()["code"] == 36009009


def test_route_path_handles_both_root_path_conventions() -> None:
    assert route_path({"path": "/simulator/tiktok/x/y", "root_path": "/simulator/tiktok"}) == "/x/y"
    assert route_path({"path": "/x/y", "root_path": "/simulator/tiktok"}) == "/x/y"
    assert route_path({"path": "/x/y", "root_path": ""}) == "/x/y"


# --- control API and traffic -------------------------------------------------------------------
def test_control_api(
    sim: Simulator, server: SimulatorServer, cipher: str, receiver: Receiver
) -> None:
    http = httpx.Client(base_url=server.base_url, trust_env=False)
    _subscribe_all(sim, receiver.url)
    made = http.post(
        "/_sim/buyer_message",
        json={"shop_id": SHOP_ID, "buyer_user_id": "b9", "nickname": "Zoe", "text": "hi"},
    ).json()["data"]
    assert made["message_id"] in sim.all_buyer_message_ids(SHOP_ID)
    delivered = http.post("/_sim/deliver_webhooks", json={"duplicate": 2}).json()["data"]
    assert delivered["sent"] == 2  # its NEW_MESSAGE, twice
    assert http.post("/_sim/faults", json={"path_prefix": CS, "kind": "5xx"}).json()["code"] == 0
    assert sim.faults and sim.faults[0].kind == "5xx"
    assert http.get("/_sim/sent_messages").json()["data"] == {"sent_messages": []}
    assert http.post("/_sim/faults", json={"kind": "5xx"}).status_code == 400
    posts = {"path_prefix": CS, "kind": "delay", "delay": 2, "count": 9, "method": "post"}
    assert http.post("/_sim/faults", json=posts).json()["code"] == 0
    assert (sim.faults[-1].method, sim.faults[-1].remaining) == ("POST", 9)
    bad = http.post("/_sim/faults", json={**posts, "method": "FETCH"})
    assert bad.status_code == 400 and "GET, POST" in bad.json()["message"]


def test_traffic_writes_varied_buyer_messages(sim: Simulator, cipher: str) -> None:
    traffic = Traffic(sim, per_minute=60, shop_ids=[SHOP_ID, OTHER_SHOP], seed=1)
    for _ in range(60):
        traffic.step()
    conversations = list(sim.conversations.values())
    assert len(conversations) >= 10
    assert {c.shop_id for c in conversations} == {SHOP_ID, OTHER_SHOP}
    messages = [m for c in conversations for m in c.messages]
    texts = {json.loads(m.content).get("content") for m in messages if m.type == "TEXT"}
    assert len(texts) >= 20
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts)
    assert all(m.role == "BUYER" for m in messages)


def test_start_traffic_runs_in_background(sim: Simulator, cipher: str) -> None:
    sim.start_traffic(per_minute=3000, shop_ids=[SHOP_ID], seed=2)
    deadline = time.monotonic() + 5
    while not sim.all_buyer_message_ids() and time.monotonic() < deadline:
        time.sleep(0.02)
    sim.stop_traffic()
    assert sim.all_buyer_message_ids(SHOP_ID)


def test_performance_from_state(sim: Simulator, client: Client, clock: Clock) -> None:
    cid, _ = sim.buyer_message(
        SHOP_ID, buyer_user_id="b1", nickname="Emily R.", text="hi", at=clock() - 600
    )
    body = {"type": "TEXT", "content": json.dumps({"content": "hello"})}
    client.call("POST", f"{CS}/conversations/{cid}/messages", body=body)
    day = time.strftime("%Y-%m-%d", time.gmtime(clock() - 600))
    after = time.strftime("%Y-%m-%d", time.gmtime(clock() + 86400))
    perf = client.call(
        "GET",
        "/customer_service/202407/performance",
        {"support_date_ge": day, "support_date_lt": after},
    )[1]["data"]["performance"]
    assert perf["support_session_count"] == 1 and perf["response_percentage"] == "100.0"
    assert perf["response_time_mins"] == "10.0"
