"""The TikTok Shop connector over real HTTP against the simulator, plus its pure parts."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from inbox.platforms.base import (
    AuthExpired,
    Credentials,
    MalformedWebhook,
    OutgoingMessage,
    PlatformError,
    RateLimited,
    TransientError,
)
from inbox.platforms.tiktok_shop import TikTokShopAdapter
from inbox.platforms.tiktok_shop.adapter import SEND_MESSAGE_PATH
from inbox.platforms.tiktok_shop.client import TikTokShopClient
from inbox.platforms.tiktok_shop.signing import sign_request
from tests.inbox.platform_world import granted_credentials

APP_KEY = "test_app_key"
APP_SECRET = "test_app_secret_value"
CS = "/customer_service/202309"


# --- fixtures --------------------------------------------------------------------------------
@dataclass
class World:
    sim: Any
    base_url: str
    adapter: TikTokShopAdapter
    sleeps: list[float] = field(default_factory=list)
    ciphers: dict[str, str] = field(default_factory=dict)

    def credentials(self, shop_id: str = "7001") -> Credentials:
        return granted_credentials(
            self.sim,
            app_key=APP_KEY,
            app_secret=APP_SECRET,
            shop_id=shop_id,
            cipher=self.ciphers[shop_id],
        )


@pytest.fixture
def world() -> Iterator[World]:
    from inbox.platforms.tiktok_shop.simulator import Simulator, SimulatorServer

    sim = Simulator(auto_push=False)
    sim.add_app(APP_KEY, APP_SECRET)
    ciphers = {
        "7001": sim.add_shop(APP_KEY, shop_id="7001", name="Sunny US", region="US"),
        "7002": sim.add_shop(APP_KEY, shop_id="7002", name="Sunny UK", region="GB"),
    }
    server = SimulatorServer(sim).start()
    sleeps: list[float] = []
    adapter = TikTokShopAdapter(
        api_base=server.base_url,
        auth_base=server.base_url,
        timeout=httpx.Timeout(5.0, connect=3.0),
        sleep=sleeps.append,
    )
    try:
        yield World(sim, server.base_url, adapter, sleeps, ciphers)
    finally:
        server.stop()


def _all_pages(fetch: Any) -> list[Any]:
    items: list[Any] = []
    token = ""
    pages = 0
    while True:
        page = fetch(token)
        pages += 1
        items.extend(page.items)
        if not page.has_more:
            return items
        token = page.next_page_token
        assert pages < 50


# --- OAuth and shop discovery ----------------------------------------------------------------
def test_exchange_code_and_discover_shops(world: World):
    # Given a seller who authorised both shops
    code = world.sim.issue_auth_code(APP_KEY, ["7001", "7002"])
    # When the code is exchanged and the shops listed
    tokens = world.adapter.exchange_auth_code(APP_KEY, APP_SECRET, code)
    shops = world.adapter.authorized_shops(
        Credentials(app_key=APP_KEY, app_secret=APP_SECRET).with_tokens(tokens)
    )
    # Then the expiries are absolute timestamps in the future and both shops are found
    now = time.time()
    assert tokens.access_token and tokens.refresh_token
    assert tokens.access_token_expires_at > now
    assert tokens.refresh_token_expires_at >= tokens.access_token_expires_at
    by_id = {s.shop_id: s for s in shops}
    assert set(by_id) == {"7001", "7002"}
    assert by_id["7001"].cipher == world.ciphers["7001"]
    assert (by_id["7002"].name, by_id["7002"].region) == ("Sunny UK", "GB")


def test_auth_code_is_single_use(world: World):
    code = world.sim.issue_auth_code(APP_KEY, ["7001"])
    world.adapter.exchange_auth_code(APP_KEY, APP_SECRET, code)
    with pytest.raises(PlatformError) as caught:
        world.adapter.exchange_auth_code(APP_KEY, APP_SECRET, code)
    assert not isinstance(caught.value, (RateLimited, TransientError))


# --- conversations and messages ----------------------------------------------------------------
def test_list_conversations_pages_past_twenty(world: World):
    # Given 25 buyers who each wrote to the shop
    expected = {
        world.sim.buyer_message("7001", buyer_user_id=f"b{i}", nickname=f"Buyer {i}", text="hi")[0]
        for i in range(25)
    }
    api = world.adapter.connect(world.credentials())
    # When the first page is fetched
    first = api.list_conversations(page_size=50)  # clamped to the platform's max of 20
    # Then it holds 20 and points to the rest
    assert len(first.items) == 20 and first.has_more
    everything = _all_pages(lambda token: api.list_conversations(page_token=token))
    assert {c.conversation_id for c in everything} == expected
    assert len(everything) == 25
    some = everything[0]
    assert some.buyer is not None and some.buyer.role == "BUYER"
    assert some.buyer.user_id.startswith("b")
    assert some.create_time.tzinfo is not None and some.create_time.utcoffset().total_seconds() == 0


def test_list_messages_pages_past_ten_in_both_orders(world: World):
    # Given one buyer who wrote 23 messages
    ids = []
    conversation_id = ""
    for i in range(23):
        conversation_id, message_id = world.sim.buyer_message(
            "7001", buyer_user_id="b1", nickname="Emily", text=f"message {i}"
        )
        ids.append(message_id)
    api = world.adapter.connect(world.credentials())
    # When all pages are read newest first, then oldest first
    first = api.list_messages(conversation_id, page_size=25)
    assert len(first.items) == 10 and first.has_more  # clamped to 10
    newest = _all_pages(lambda t: api.list_messages(conversation_id, page_token=t))
    oldest = _all_pages(
        lambda t: api.list_messages(conversation_id, page_token=t, newest_first=False)
    )
    # Then each order holds every message exactly once, sorted by create_time
    assert sorted(m.message_id for m in newest) == sorted(ids)
    assert sorted(m.message_id for m in oldest) == sorted(ids)
    new_times = [m.create_time for m in newest]
    old_times = [m.create_time for m in oldest]
    assert new_times == sorted(new_times, reverse=True)
    assert old_times == sorted(old_times)
    texts = [m.content.get("content") for m in oldest if m.type == "TEXT"]
    assert set(texts) == {f"message {i}" for i in range(23)}
    buyer_message = next(m for m in oldest if m.message_id == ids[0])
    assert buyer_message.conversation_id == conversation_id
    assert buyer_message.sender.role == "BUYER"
    assert buyer_message.sender.nickname == "Emily"
    assert isinstance(buyer_message.create_time, datetime)
    assert buyer_message.create_time.tzinfo == UTC


def test_send_text_and_order_card_are_recorded_once(world: World):
    # Given a conversation
    conversation_id, _ = world.sim.buyer_message("7001", buyer_user_id="b1", nickname="E", text="?")
    api = world.adapter.connect(world.credentials())
    # When a text (with non-ASCII) and an order card are sent
    text_id = api.send_message(
        conversation_id, OutgoingMessage("TEXT", {"content": "Your parcel ships today ✓"})
    )
    card_id = api.send_message(
        conversation_id, OutgoingMessage("ORDER_CARD", {"order_id": "576684019603311365"})
    )
    # Then the platform recorded each exactly once, with the content sent
    sent = world.sim.sent_messages("7001")
    assert [s["message_id"] for s in sent] == [text_id, card_id]
    assert [s["type"] for s in sent] == ["TEXT", "ORDER_CARD"]
    assert all(s["conversation_id"] == conversation_id for s in sent)
    contents = [
        s["content"] if isinstance(s["content"], dict) else json.loads(s["content"]) for s in sent
    ]
    assert contents == [
        {"content": "Your parcel ships today ✓"},
        {"order_id": "576684019603311365"},
    ]
    # and the sent messages come back when listing
    listed = _all_pages(lambda t: api.list_messages(conversation_id, page_token=t))
    assert {text_id, card_id} <= {m.message_id for m in listed}


def test_mark_read(world: World):
    conversation_id, _ = world.sim.buyer_message("7001", buyer_user_id="b1", nickname="E", text="?")
    api = world.adapter.connect(world.credentials())
    api.mark_read(conversation_id)
    conversation = next(
        c for c in api.list_conversations().items if c.conversation_id == conversation_id
    )
    assert conversation.unread_count == 0


def test_text_over_2000_characters_is_refused_before_any_http(world: World):
    conversation_id, _ = world.sim.buyer_message("7001", buyer_user_id="b1", nickname="E", text="?")
    api = world.adapter.connect(world.credentials())
    with pytest.raises(ValueError, match="2000"):
        api.send_message(conversation_id, OutgoingMessage("TEXT", {"content": "x" * 2001}))
    with pytest.raises(ValueError):
        api.send_message(conversation_id, OutgoingMessage("VIDEO", {"url": "u"}))
    with pytest.raises(ValueError):
        api.send_message(conversation_id, OutgoingMessage("ORDER_CARD", {}))
    assert world.sim.sent_messages("7001") == []
    # exactly 2000 is fine
    api.send_message(conversation_id, OutgoingMessage("TEXT", {"content": "x" * 2000}))
    assert len(world.sim.sent_messages("7001")) == 1


# --- tokens ----------------------------------------------------------------------------------
def test_expired_token_is_refreshed_once_and_persisted(world: World):
    # Given credentials whose access token has expired
    credentials = world.credentials()
    world.sim.expire_access_token(credentials.access_token)
    world.sim.buyer_message("7001", buyer_user_id="b1", nickname="E", text="hi")
    saved: list[Credentials] = []
    api = world.adapter.connect(credentials, on_tokens_refreshed=saved.append)
    # When a call is made
    page = api.list_conversations()
    # Then the token was refreshed once, handed to the callback, and the call succeeded
    assert len(page.items) == 1
    assert len(saved) == 1
    new = saved[0]
    assert new.access_token != credentials.access_token
    assert new.refresh_token
    assert new.access_token_expires_at > time.time()  # absolute, not a duration
    assert (new.shop_cipher, new.shop_id, new.app_key) == (
        credentials.shop_cipher,
        credentials.shop_id,
        APP_KEY,
    )
    assert api.credentials == new
    # and later calls use the new token without refreshing again
    api.list_conversations()
    assert len(saved) == 1


def test_refused_refresh_is_auth_expired(world: World):
    credentials = world.credentials()
    world.sim.expire_access_token(credentials.access_token)
    revoked = Credentials(
        **{**credentials.to_dict(), "refresh_token": "not-a-refresh-token-we-issued"}
    )
    saved: list[Credentials] = []
    api = world.adapter.connect(revoked, on_tokens_refreshed=saved.append)
    with pytest.raises(AuthExpired) as caught:
        api.list_conversations()
    assert saved == []
    _assert_no_secrets(str(caught.value), revoked)


# --- retries ---------------------------------------------------------------------------------
def test_rate_limit_is_retried_then_succeeds(world: World):
    world.sim.set_fault(f"{CS}/conversations", "rate_limit", count=2)
    api = world.adapter.connect(world.credentials())
    api.list_conversations()
    assert len(world.sleeps) == 2
    assert world.sleeps[0] >= 0.5 and world.sleeps[1] >= 1.0


def test_server_error_is_retried_then_succeeds(world: World):
    world.sim.set_fault(f"{CS}/conversations", "5xx", count=1)
    api = world.adapter.connect(world.credentials())
    api.list_conversations()
    assert len(world.sleeps) == 1


def test_send_is_not_repeated_in_the_call_after_a_server_error(world: World):
    # A 5xx may come from a gateway after the platform stored the message: the send is not
    # repeated blindly; the outbox checks the platform before its next attempt.
    conversation_id, _ = world.sim.buyer_message("7001", buyer_user_id="b1", nickname="E", text="?")
    world.sim.set_fault(SEND_MESSAGE_PATH.format(conversation_id=conversation_id), "5xx", count=1)
    api = world.adapter.connect(world.credentials())
    with pytest.raises(TransientError):
        api.send_message(conversation_id, OutgoingMessage("TEXT", {"content": "ok"}))
    assert world.sleeps == []
    assert world.sim.sent_messages("7001") == []
    api.send_message(conversation_id, OutgoingMessage("TEXT", {"content": "ok"}))
    assert len(world.sim.sent_messages("7001")) == 1


def test_persistent_server_error_is_transient_error(world: World):
    world.sim.set_fault(f"{CS}/conversations", "5xx", count=100)
    api = world.adapter.connect(world.credentials())
    with pytest.raises(TransientError):
        api.list_conversations()
    assert len(world.sleeps) == 3  # bounded: three retries after the first attempt


def test_persistent_rate_limit_is_rate_limited(world: World):
    world.sim.set_fault(f"{CS}/conversations", "rate_limit", count=100)
    api = world.adapter.connect(world.credentials())
    with pytest.raises(RateLimited) as caught:
        api.list_conversations()
    assert len(world.sleeps) == 3
    assert caught.value.retry_after > 0


def test_slow_read_is_retried_then_succeeds(world: World):
    adapter = TikTokShopAdapter(
        api_base=world.base_url,
        auth_base=world.base_url,
        timeout=httpx.Timeout(0.3, connect=3.0),
        sleep=world.sleeps.append,
    )
    world.sim.set_fault(f"{CS}/conversations", "delay", count=1, delay=1.0)
    adapter.connect(world.credentials()).list_conversations()
    assert len(world.sleeps) == 1


def test_send_after_a_read_timeout_is_not_repeated(world: World):
    # Given a send whose answer arrives after the client's read timeout
    conversation_id, _ = world.sim.buyer_message("7001", buyer_user_id="b1", nickname="E", text="?")
    adapter = TikTokShopAdapter(
        api_base=world.base_url,
        auth_base=world.base_url,
        timeout=httpx.Timeout(0.3, connect=3.0),
        sleep=world.sleeps.append,
    )
    world.sim.set_fault(
        SEND_MESSAGE_PATH.format(conversation_id=conversation_id), "delay", delay=0.8
    )
    api = adapter.connect(world.credentials())
    # When it is sent, it fails as transient without a second attempt in the call
    with pytest.raises(TransientError):
        api.send_message(conversation_id, OutgoingMessage("TEXT", {"content": "once"}))
    assert world.sleeps == []
    # Then it was not posted again (the simulator drops a request whose client has gone, so it
    # holds none; TikTok may hold one, and the durable outbox decides what to do next)
    time.sleep(0.8)
    assert len(world.sim.sent_messages("7001")) <= 1


# --- API versions (docs/platforms/tiktok-shop.md, "API versions") ---------------------------
def _version_split(path: str) -> tuple[str, str, str] | None:
    """``/customer_service/202606/conversations/...`` -> (group, version, rest)."""
    parts = path.split("/", 3)
    if len(parts) < 3 or not parts[2].isdigit() or len(parts[2]) != 6:
        return None
    return parts[1], parts[2], parts[3] if len(parts) > 3 else ""


def test_the_connector_calls_the_newest_version_of_each_endpoint(world: World):
    # Given a buyer's conversation
    conversation_id, _ = world.sim.buyer_message("7001", buyer_user_id="b1", nickname="E", text="?")
    api = world.adapter.connect(world.credentials())
    # When the connector makes every call it makes
    world.adapter.authorized_shops(world.credentials())
    api.list_conversations()
    api.list_messages(conversation_id)
    api.send_message(conversation_id, OutgoingMessage("TEXT", {"content": "ok"}))
    api.mark_read(conversation_id)
    # Then each went to the version the docs' table names
    called = set(world.sim.api_calls)
    assert called == {
        ("GET", "/authorization/202309/shops"),
        ("GET", f"{CS}/conversations"),
        ("GET", f"{CS}/conversations/{{conversation_id}}/messages"),
        ("POST", "/customer_service/202606/conversations/{conversation_id}/messages"),
        ("POST", f"{CS}/conversations/{{conversation_id}}/messages/read"),
    }
    # And the simulator serves no newer version of any of them (202309 only where newest)
    served = {
        (method, path)
        for route in world.sim.asgi_app.routes
        for method in getattr(route, "methods", None) or ()
        for path in [getattr(route, "path", "")]
    }
    for method, path in called:
        group, version, rest = _version_split(path) or ("", "", "")
        newer = [
            p
            for m, p in served
            if m == method
            and (split := _version_split(p)) is not None
            and (split[0], split[2]) == (group, rest)
            and split[1] > version
        ]
        assert newer == [], (method, path)
    # And the reply went as what it is: an agent's, customer service
    assert world.sim.messages("7001", conversation_id)[-1]["sender"]["role"] == "CUSTOMER_SERVICE"


def test_a_list_of_values_is_one_comma_joined_key(world: World):
    # Given two orders (Get Order Detail takes their ids in one ``ids`` value)
    first = world.sim.order_create("7001", buyer_user_id="7494001")
    second = world.sim.order_create("7001", buyer_user_id="7494002")
    client = TikTokShopClient(world.credentials(), api_base=world.base_url, auth_base="x")
    # When the connector's client is given a list
    data = client.call("GET", "/order/202507/orders", params={"ids": [first, second]})
    # Then the platform (which refuses a repeated key) answers both, with their buyers
    assert [(o["id"], o["user_id"]) for o in data["orders"]] == [
        (first, "7494001"),
        (second, "7494002"),
    ]


def test_a_list_of_values_is_sent_and_signed_once():
    client, requests = _stub_client([httpx.Response(200, json={"code": 0, "data": {}})])
    client.call("GET", "/order/202507/orders", params={"ids": ["3", "1", "2"]})
    (request,) = requests
    assert request.url.params.get_list("ids") == ["3,1,2"]
    query = dict(request.url.params)
    assert query["sign"] == sign_request(
        "SECRET-XYZ", "/order/202507/orders", {k: v for k, v in query.items() if k != "sign"}
    )


# --- the client without the simulator (transport stubs) --------------------------------------
def _stub_client(responses: list[httpx.Response], **kwargs: Any) -> tuple[TikTokShopClient, list]:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return responses.pop(0)

    client = TikTokShopClient(
        Credentials(
            app_key="k",
            app_secret="SECRET-XYZ",
            access_token="TOKEN-ABC",
            refresh_token="REFRESH-DEF",
            shop_cipher="CIPHER",
            shop_id="1",
        ),
        api_base="http://api.test",
        auth_base="http://auth.test",
        transport=httpx.MockTransport(handler),
        sleep=kwargs.pop("sleep", lambda s: None),
        rng=lambda: 0.0,
        **kwargs,
    )
    return client, requests


def _assert_no_secrets(text: str, credentials: Credentials) -> None:
    for secret in (credentials.access_token, credentials.refresh_token, credentials.app_secret):
        assert secret not in text


def test_nonzero_code_with_http_200_is_an_error_without_secrets():
    client, _ = _stub_client(
        [
            httpx.Response(
                200, json={"code": 106001, "message": "bad TOKEN-ABC SECRET-XYZ", "data": {}}
            )
        ]
    )
    with pytest.raises(PlatformError) as caught:
        client.call("GET", f"{CS}/conversations", params={"page_size": 20})
    assert caught.value.code == 106001 and not caught.value.retryable
    _assert_no_secrets(str(caught.value), client.credentials)


def test_backoff_follows_the_formula_and_honours_retry_after():
    sleeps: list[float] = []
    busy = {"code": 36009002, "message": "Too many requests", "data": {}}
    client, _ = _stub_client(
        [
            httpx.Response(429, json=busy),
            httpx.Response(200, json=busy),
            httpx.Response(429, json=busy, headers={"Retry-After": "7"}),
            httpx.Response(200, json={"code": 0, "message": "Success", "data": {"x": 1}}),
        ],
        sleep=sleeps.append,
    )
    assert client.call("GET", f"{CS}/conversations") == {"x": 1}
    assert sleeps == [0.5, 1.0, 7.0]


def test_signed_request_shape():
    client, requests = _stub_client(
        [httpx.Response(200, json={"code": 0, "data": {"message_id": "m"}})] * 2
    )
    client.call("POST", f"{CS}/conversations/1/messages", body={"type": "TEXT", "content": "{}"})
    client.call("GET", "/authorization/202309/shops")
    send, shops = requests
    assert send.headers["x-tts-access-token"] == "TOKEN-ABC"
    assert send.headers["content-type"] == "application/json"
    assert send.url.params["shop_cipher"] == "CIPHER"
    assert "access_token" not in send.url.params
    assert send.url.params["sign"]
    assert abs(int(send.url.params["timestamp"]) - time.time()) < 5
    assert send.content == b'{"type":"TEXT","content":"{}"}'
    assert "shop_cipher" not in shops.url.params


def test_expired_token_without_a_callback_is_auth_expired():
    client, requests = _stub_client([httpx.Response(401, json={"code": 105002, "data": {}})])
    with pytest.raises(AuthExpired):
        client.call("GET", f"{CS}/conversations")
    assert len(requests) == 1  # no refresh that could not be saved


# --- webhooks --------------------------------------------------------------------------------
def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def test_webhook_new_message():
    notice = TikTokShopAdapter().parse_webhook(
        _body(
            {
                "type": 14,
                "tts_notification_id": "n-1",
                "shop_id": "7001",
                "timestamp": 1700000000,
                "data": {"conversation_id": "c1", "message_id": "m1", "type": "TEXT"},
            }
        )
    )
    assert (notice.kind, notice.type_code, notice.notification_id) == ("new_message", 14, "n-1")
    assert (notice.shop_id, notice.conversation_id, notice.message_id) == ("7001", "c1", "m1")
    assert notice.timestamp == 1700000000


def test_webhook_new_conversation_with_and_without_conversation_id():
    adapter = TikTokShopAdapter()
    with_id = adapter.parse_webhook(
        _body({"type": 13, "shop_id": "7001", "data": {"conversation_id": "c9"}})
    )
    without = adapter.parse_webhook(_body({"type": 13, "shop_id": "7001", "data": {}}))
    assert (with_id.kind, with_id.conversation_id) == ("new_conversation", "c9")
    assert (without.kind, without.conversation_id) == ("new_conversation", "")


def test_webhook_other_kinds():
    adapter = TikTokShopAdapter()
    kinds = {
        code: adapter.parse_webhook(_body({"type": code, "shop_id": "7001", "data": {}})).kind
        for code in (12, 6, 7, 1, 99)
    }
    assert kinds == {
        12: "return_status",
        6: "deauthorization",
        7: "authorization_expiring",
        1: "unknown",
        99: "unknown",
    }


def test_webhook_without_notification_id_gets_a_stable_one():
    body = _body({"type": 12, "shop_id": "7001", "timestamp": 1, "data": {"return_id": "r"}})
    notice = TikTokShopAdapter().parse_webhook(body)
    assert notice.notification_id == hashlib.sha256(body).hexdigest()
    assert TikTokShopAdapter().parse_webhook(body).notification_id == notice.notification_id


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"shop_id": "7001", "data": {}}',
        b'{"type": 14, "data": {}}',
        b'{"type": 14, "shop_id": "", "data": {}}',
        b'{"type": "fourteen", "shop_id": "7001"}',
    ],
)
def test_malformed_webhooks(body: bytes):
    with pytest.raises(MalformedWebhook):
        TikTokShopAdapter().parse_webhook(body)


def test_verify_webhook_reads_the_authorization_header_any_case():
    from inbox.platforms.tiktok_shop.signing import webhook_signature

    body = _body({"type": 14, "shop_id": "7001", "data": {}})
    credentials = Credentials(app_key=APP_KEY, app_secret=APP_SECRET)
    signature = webhook_signature(APP_KEY, APP_SECRET, body)
    adapter = TikTokShopAdapter()
    assert adapter.verify_webhook(credentials, {"Authorization": signature}, body)
    assert adapter.verify_webhook(credentials, {"authorization": signature}, body)
    assert not adapter.verify_webhook(credentials, {"Authorization": signature}, body + b" ")
    assert not adapter.verify_webhook(credentials, {}, body)


# --- onboarding ------------------------------------------------------------------------------
def _raw_credentials(shop_pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM inbox_shopaccount WHERE id = %s", [shop_pk])
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_onboard_command_with_auth_code(world: World, settings):
    from inbox.models import ShopAccount
    from monitoring.models import AuditEvent
    from tests.factories import OrganisationFactory

    # Given an organisation and a seller who authorised two shops
    org = OrganisationFactory(slug="acme")
    settings.TIKTOK_API_BASE = world.base_url
    settings.TIKTOK_AUTH_BASE = world.base_url
    code = world.sim.issue_auth_code(APP_KEY, ["7001", "7002"])
    # When the command runs
    call_command(
        "onboard_tiktok_shop",
        "--organisation=acme",
        f"--app-key={APP_KEY}",
        f"--app-secret={APP_SECRET}",
        f"--auth-code={code}",
        "--time-zone-for=US=America/New_York",
    )
    # Then one shop account per shop exists, with its zone, cipher and encrypted credentials
    shops = {s.platform_shop_id: s for s in ShopAccount.objects.filter(organisation=org)}
    assert set(shops) == {"7001", "7002"}
    us, uk = shops["7001"], shops["7002"]
    assert (us.platform, us.name, us.region, us.time_zone) == (
        "tiktok_shop",
        "Sunny US",
        "US",
        "America/New_York",
    )
    assert (uk.region, uk.time_zone) == ("GB", "Europe/London")
    stored = Credentials.from_dict(us.credentials)
    assert (stored.shop_cipher, stored.shop_id, stored.app_secret) == (
        world.ciphers["7001"],
        "7001",
        APP_SECRET,
    )
    assert stored.access_token and stored.refresh_token
    raw = _raw_credentials(us.pk)
    assert raw.startswith("v2:")
    assert APP_SECRET not in raw and stored.access_token not in raw
    assert AuditEvent.objects.filter(
        organisation=org, action="shop_account.onboarded", target_id=str(us.pk)
    ).exists()
    # and the stored credentials work
    world.sim.buyer_message("7001", buyer_user_id="b1", nickname="E", text="hi")
    assert len(world.adapter.connect(stored).list_conversations().items) == 1


@pytest.mark.django_db
def test_onboard_command_with_tokens_updates_existing_shops(world: World, settings):
    from inbox.models import ShopAccount
    from tests.factories import OrganisationFactory

    org = OrganisationFactory(slug="acme")
    settings.TIKTOK_API_BASE = world.base_url
    settings.TIKTOK_AUTH_BASE = world.base_url
    first = world.sim.grant(APP_KEY, ["7001"])
    args = ["--organisation=acme", f"--app-key={APP_KEY}", f"--app-secret={APP_SECRET}"]
    call_command(
        "onboard_tiktok_shop",
        *args,
        f"--access-token={first['access_token']}",
        f"--refresh-token={first['refresh_token']}",
    )
    shop = ShopAccount.objects.get(organisation=org, platform_shop_id="7001")
    shop.time_zone = "America/Chicago"  # the seller changed it
    shop.save()
    # When the shop is onboarded again with new tokens
    second = world.sim.grant(APP_KEY, ["7001"])
    call_command(
        "onboard_tiktok_shop",
        *args,
        f"--access-token={second['access_token']}",
        f"--refresh-token={second['refresh_token']}",
        f"--access-expires={second['access_token_expire_in']}",
        f"--refresh-expires={second['refresh_token_expire_in']}",
    )
    # Then the same account is updated, keeping the seller's time zone
    assert ShopAccount.objects.filter(platform_shop_id="7001").count() == 1
    shop.refresh_from_db()
    assert shop.time_zone == "America/Chicago"
    assert shop.credentials["access_token"] == second["access_token"]
    assert shop.credentials["access_token_expires_at"] == second["access_token_expire_in"]


@pytest.mark.django_db
def test_onboard_refuses_a_shop_of_another_organisation(world: World, settings):
    from inbox.models import ShopAccount
    from tests.factories import OrganisationFactory, ShopAccountFactory

    settings.TIKTOK_API_BASE = world.base_url
    settings.TIKTOK_AUTH_BASE = world.base_url
    other = OrganisationFactory(slug="other")
    ShopAccountFactory(organisation=other, platform="tiktok_shop", platform_shop_id="7001")
    OrganisationFactory(slug="acme")
    code = world.sim.issue_auth_code(APP_KEY, ["7001", "7002"])
    with pytest.raises(CommandError, match="another organisation"):
        call_command(
            "onboard_tiktok_shop",
            "--organisation=acme",
            f"--app-key={APP_KEY}",
            f"--app-secret={APP_SECRET}",
            f"--auth-code={code}",
        )
    # nothing was written for acme (one transaction)
    assert not ShopAccount.objects.filter(organisation__slug="acme").exists()


@pytest.mark.django_db
def test_rediscover_picks_up_shops_with_stored_tokens(world: World):
    from inbox.models import ShopAccount
    from inbox.onboarding import shop_accounts_onboard, shop_accounts_rediscover
    from tests.factories import OrganisationFactory

    # Given one shop onboarded from a grant that covers two shops
    org = OrganisationFactory(slug="acme")
    code = world.sim.issue_auth_code(APP_KEY, ["7001", "7002"])
    tokens = world.adapter.exchange_auth_code(APP_KEY, APP_SECRET, code)
    shop = shop_accounts_onboard(
        organisation=org,
        adapter=world.adapter,
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        tokens=tokens,
    )[0]
    ShopAccount.objects.exclude(pk=shop.pk).delete()
    # When it is rediscovered (the admin action)
    accounts = shop_accounts_rediscover(shop_account=shop, adapter=world.adapter)
    # Then both shops are back, in the same organisation
    assert {a.platform_shop_id for a in accounts} == {"7001", "7002"}
    assert ShopAccount.objects.filter(organisation=org).count() == 2
