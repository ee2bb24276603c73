"""The simulator speaks TikTok's protocol as TikTok documents it (issue 12): NEW_CONVERSATION is
about customer-service agents, not new chats; a signature over the full path or over the path
as sent (percent-encoded) is accepted under a mount prefix; tests can expire tokens through the
control API; a repeated query key is refused. Real HTTP against a real uvicorn server, with
real clients: the project's connector and clients that sign the URL they send."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx
import pytest

from inbox.platforms.base import AuthExpired, Credentials
from inbox.platforms.tiktok_shop import TikTokShopAdapter
from inbox.platforms.tiktok_shop.signing import sign_request, verify_webhook
from inbox.platforms.tiktok_shop.simulator import Simulator, SimulatorServer
from tests.inbox.platform_world import granted_credentials
from tests.inbox.platforms.test_simulator import Receiver

APP_KEY, APP_SECRET = "proto_app_key", "proto_app_secret"
SHOP_ID, OTHER_SHOP = "7000000000000000001", "7000000000000000002"
PREFIX = "/simulator/tiktok"
CS = "/customer_service/202309"
# A platform id a client must percent-encode in a path (``quote(id, safe="")``: %3A, %3D).
ENCODED_ID = "cv:7001="


@dataclass
class Platform:
    sim: Simulator
    server: SimulatorServer
    ciphers: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.base_url

    def credentials(self, shop_id: str = SHOP_ID) -> Credentials:
        return granted_credentials(
            self.sim,
            app_key=APP_KEY,
            app_secret=APP_SECRET,
            shop_id=shop_id,
            cipher=self.ciphers[shop_id],
        )

    def adapter(self) -> TikTokShopAdapter:
        return TikTokShopAdapter(
            api_base=self.url,
            auth_base=self.url,
            timeout=httpx.Timeout(5.0, connect=3.0),
            sleep=lambda _: None,
        )


def _platform(root_path: str) -> Iterator[Platform]:
    sim = Simulator(auto_push=False)
    sim.add_app(APP_KEY, APP_SECRET)
    ciphers = {
        shop_id: sim.add_shop(APP_KEY, shop_id=shop_id, name=name, region=region)
        for shop_id, name, region in ((SHOP_ID, "Demo US", "US"), (OTHER_SHOP, "Other", "GB"))
    }
    server = SimulatorServer(sim, root_path=root_path).start()
    try:
        yield Platform(sim, server, ciphers)
    finally:
        server.stop()
        sim.close()


@pytest.fixture
def platform() -> Iterator[Platform]:
    yield from _platform("")


@pytest.fixture
def mounted() -> Iterator[Platform]:
    """The simulator mounted under /simulator/tiktok, as ``--root-path`` serves it."""
    yield from _platform(PREFIX)


class UrlSigningAuth(httpx.Auth):
    """Signs the way a client generated from TikTok's OpenAPI does (``tiktok-shop-api`` 0.1.0's
    ``_SigningAuth``): over the path of the URL it sends (base URL's prefix included,
    percent-encoded as on the wire), each query pair sorted by key, then the body."""

    requires_request_body = True

    def __init__(self, app_key: str, app_secret: str, token: str, cipher: str | None) -> None:
        self.app_key, self.app_secret, self.token, self.cipher = app_key, app_secret, token, cipher

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        path_bytes, _, query_bytes = request.url.raw_path.partition(b"?")
        path = path_bytes.decode("ascii")
        query = parse_qsl(query_bytes.decode("ascii"), keep_blank_values=True)
        if self.cipher:
            query.append(("shop_cipher", self.cipher))
        query += [("app_key", self.app_key), ("timestamp", str(int(time.time())))]
        request.headers["x-tts-access-token"] = self.token
        pairs = sorted(
            (p for p in query if p[0] not in ("sign", "access_token")), key=lambda p: p[0]
        )
        text = self.app_secret + path + "".join(k + v for k, v in pairs)
        text += (request.content or b"").decode() + self.app_secret
        sign = hmac.new(self.app_secret.encode(), text.encode(), hashlib.sha256).hexdigest()
        query.append(("sign", sign))
        qs = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
        request.url = request.url.copy_with(raw_path=path_bytes + b"?" + qs.encode("ascii"))
        yield request


def _url_signing_client(p: Platform, *, cipher: bool = True) -> httpx.Client:
    creds = p.credentials()
    auth = UrlSigningAuth(
        APP_KEY, APP_SECRET, creds.access_token, p.ciphers[SHOP_ID] if cipher else None
    )
    return httpx.Client(base_url=p.url, auth=auth, timeout=5, trust_env=False)


def _conversation_with_id(sim: Simulator, conversation_id: str) -> str:
    """A buyer's conversation whose platform id is ``conversation_id`` (the simulator numbers
    its own; TikTok's ids may carry characters a path must encode)."""
    generated, _ = sim.buyer_message(SHOP_ID, buyer_user_id="enc", nickname="E", text="hi")
    with sim.lock:
        conversation = sim.conversations.pop(generated)
        conversation.id = conversation_id
        for message in conversation.messages:
            message.conversation_id = conversation_id
        sim.conversations[conversation_id] = conversation
        sim.conversation_by_buyer[SHOP_ID, "enc"] = conversation_id
    return conversation_id


# --- NEW_CONVERSATION (13): an agent joins or leaves, not a buyer's first message ---------------
def _subscribe_all(sim: Simulator, url: str) -> None:
    for event_type in ("NEW_MESSAGE", "NEW_CONVERSATION", "RETURN_STATUS_CHANGE"):
        sim.subscribe(SHOP_ID, event_type, url)


def test_a_buyers_first_message_fires_new_message_only(platform: Platform, receiver: Receiver):
    _subscribe_all(platform.sim, receiver.url)
    # When a buyer writes to the shop for the first time, then again
    cid, first = platform.sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="E", text="hi")
    platform.sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="E", text="hello?")
    assert platform.sim.deliver_webhooks()["statuses"] == {200: 2}
    # Then the platform sent NEW_MESSAGE for each, and no NEW_CONVERSATION
    envelopes = receiver.envelopes()
    assert [e["type"] for e in envelopes] == [14, 14]
    assert envelopes[0]["data"]["message_id"] == first
    assert envelopes[0]["data"]["conversation_id"] == cid


def test_an_agent_joining_or_leaving_fires_new_conversation_as_documented(
    platform: Platform, receiver: Receiver
):
    sim = platform.sim
    _subscribe_all(sim, receiver.url)
    cid, _ = sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="E", text="hi")
    sim.deliver_webhooks()
    receiver.received.clear()
    http = httpx.Client(base_url=platform.url, trust_env=False)
    # When a customer-service agent joins the conversation (control API), then leaves (Python)
    joined = http.post(
        "/_sim/agent", json={"action": "join", "shop_id": SHOP_ID, "conversation_id": cid}
    )
    assert joined.json()["code"] == 0
    sim.agent_leave(SHOP_ID, cid)
    assert sim.deliver_webhooks()["statuses"] == {200: 2}
    # Then each fired NEW_CONVERSATION (13), signed, shaped as the client's model
    # NewConversationWebhook: {conversation_id, create_time} (the conversation's creation)
    create_time = sim.conversations[cid].create_time
    for headers, body in receiver.received:
        assert verify_webhook(APP_KEY, APP_SECRET, body, headers["Authorization"])
        envelope = json.loads(body)
        assert set(envelope) == {"type", "tts_notification_id", "shop_id", "timestamp", "data"}
        assert (envelope["type"], envelope["shop_id"]) == (13, SHOP_ID)
        assert envelope["data"] == {"conversation_id": cid, "create_time": create_time}
    # And no message was added: nothing in the conversation changed for the buyer
    assert [m["type"] for m in sim.messages(SHOP_ID, cid)] == ["TEXT"]


def test_an_agent_event_for_a_conversation_the_shop_lacks_is_refused(platform: Platform):
    for shop_id in (SHOP_ID, OTHER_SHOP):
        platform.sim.subscribe(shop_id, "NEW_CONVERSATION", "http://127.0.0.1:9/webhooks/tiktok")
    cid, _ = platform.sim.buyer_message(OTHER_SHOP, buyer_user_id="b1", nickname="E", text="hi")
    http = httpx.Client(base_url=platform.url, trust_env=False)
    for body in (
        {"action": "join", "shop_id": SHOP_ID, "conversation_id": cid},  # another shop's
        {"action": "join", "shop_id": SHOP_ID, "conversation_id": "404"},
        {"action": "wave", "shop_id": OTHER_SHOP, "conversation_id": cid},
    ):
        answer = http.post("/_sim/agent", json=body)
        assert (answer.status_code, answer.json()["code"]) == (400, 40006)
    assert platform.sim.pending_webhooks() == 0


# --- signatures under a mount prefix, and over percent-encoded paths ----------------------------
def test_the_connector_signing_below_the_prefix_is_accepted(mounted: Platform):
    _conversation_with_id(mounted.sim, ENCODED_ID)
    adapter = mounted.adapter()
    credentials = mounted.credentials()
    # The project's connector signs the API path (below its base URL), decoded
    assert [s.shop_id for s in adapter.authorized_shops(credentials)] == [SHOP_ID]
    messages = adapter.connect(credentials).list_messages(ENCODED_ID).items
    assert [m.content for m in messages] == [{"content": "hi"}]


def test_a_client_signing_the_full_encoded_path_is_accepted(mounted: Platform):
    _conversation_with_id(mounted.sim, ENCODED_ID)
    http = _url_signing_client(mounted)
    # A client whose base URL carries the prefix signs the full path, the id percent-encoded
    path = f"{CS}/conversations/{quote(ENCODED_ID, safe='')}/messages"
    answer = http.get(path, params={"page_size": "10"})
    assert answer.request.url.raw_path.startswith(
        f"{PREFIX}{CS}/conversations/cv%3A7001%3D/".encode()
    )
    assert (answer.status_code, answer.json()["code"]) == (200, 0)
    assert [json.loads(m["content"]) for m in answer.json()["data"]["messages"]] == [
        {"content": "hi"}
    ]
    shops = _url_signing_client(mounted, cipher=False).get("/authorization/202309/shops")
    assert shops.json()["code"] == 0
    assert {s["id"] for s in shops.json()["data"]["shops"]} == {SHOP_ID}


def test_a_client_signing_the_encoded_path_at_the_root_is_accepted(platform: Platform):
    _conversation_with_id(platform.sim, ENCODED_ID)
    http = _url_signing_client(platform)
    answer = http.get(
        f"{CS}/conversations/{quote(ENCODED_ID, safe='')}/messages", params={"page_size": "10"}
    )
    assert answer.json()["code"] == 0 and len(answer.json()["data"]["messages"]) == 1
    # and the decoded spelling of the same path (as the connector signs it) too
    api = platform.adapter().connect(platform.credentials())
    assert len(api.list_messages(ENCODED_ID).items) == 1


def test_a_signature_over_another_path_is_still_refused_under_the_prefix(mounted: Platform):
    creds = mounted.credentials()
    http = httpx.Client(timeout=5, trust_env=False)
    query = {
        "app_key": APP_KEY,
        "timestamp": str(int(time.time())),
        "shop_cipher": creds.shop_cipher,
    }
    wrong_paths = [
        f"{CS}/conversations",  # another API
        f"/elsewhere{CS}/agents/settings",  # another prefix
        f"{PREFIX}{PREFIX}{CS}/agents/settings",  # the prefix twice
    ]
    for path in wrong_paths:
        signed = {**query, "sign": sign_request(APP_SECRET, path, query)}
        answer = http.get(
            f"{mounted.url}{CS}/agents/settings",
            params=signed,
            headers={"x-tts-access-token": creds.access_token},
        )
        assert (answer.status_code, answer.json()["code"]) == (401, 106001), path
    for path in (f"{CS}/agents/settings", f"{PREFIX}{CS}/agents/settings"):
        signed = {**query, "sign": sign_request(APP_SECRET, path, query)}
        answer = http.get(
            f"{mounted.url}{CS}/agents/settings",
            params=signed,
            headers={"x-tts-access-token": creds.access_token},
        )
        assert answer.json()["code"] == 0, path


@pytest.mark.django_db(transaction=True)
def test_the_demo_mount_accepts_the_full_path_and_the_path_below_it(asgi_server, settings):
    from inbox.demo import DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SHOPS, demo_tokens

    settings.SCRM_SIMULATOR_ENABLED = True
    shop_id = DEMO_SHOPS[0][0]
    access, _ = demo_tokens(shop_id)
    http = httpx.Client(timeout=10, trust_env=False)
    api_path = "/authorization/202309/shops"
    for signed_path in (api_path, f"{PREFIX}{api_path}"):
        query = {"app_key": DEMO_APP_KEY, "timestamp": str(int(time.time()))}
        query["sign"] = sign_request(DEMO_APP_SECRET, signed_path, query)
        answer = http.get(
            f"{asgi_server}{PREFIX}{api_path}", params=query, headers={"x-tts-access-token": access}
        )
        assert answer.json()["code"] == 0, signed_path
        assert [s["id"] for s in answer.json()["data"]["shops"]] == [shop_id]


def test_the_independent_client_signs_the_full_and_the_encoded_path(
    platform: Platform, mounted: Platform
):
    tiktok_shop_api = pytest.importorskip("tiktok_shop_api")
    # Under the prefix it signs the full path (its shop-cipher detection matches paths from the
    # host, so it sends no cipher there: only the global APIs can be called through a prefix)
    creds = mounted.credentials()
    with tiktok_shop_api.TikTokShop(
        APP_KEY, APP_SECRET, creds.access_token, base_url=mounted.url
    ) as client:
        shops = client.authorization.get_authorized_shops()
    assert [s.id for s in shops.data.shops] == [SHOP_ID]
    # At the root it signs a percent-encoded conversation id as sent
    _conversation_with_id(platform.sim, ENCODED_ID)
    creds = platform.credentials()
    with tiktok_shop_api.TikTokShop(
        APP_KEY, APP_SECRET, creds.access_token, creds.shop_cipher, base_url=platform.url
    ) as client:
        page = client.customer_service.get_conversation_messages(ENCODED_ID, page_size=10)
    assert [json.loads(m.content) for m in page.data.messages] == [{"content": "hi"}]


# --- expiring tokens through the control API ---------------------------------------------------
def _expire(p: Platform, **body: Any) -> httpx.Response:
    return httpx.post(f"{p.url}/_sim/expire_token", json=body, timeout=5, trust_env=False)


def test_an_expired_token_is_refreshed_once_by_the_connector(platform: Platform):
    sim = platform.sim
    sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="E", text="hi")
    credentials = platform.credentials()
    saved: list[Credentials] = []
    api = platform.adapter().connect(credentials, on_tokens_refreshed=saved.append)
    assert len(api.list_conversations().items) == 1
    # When a test expires the shop's access token through the control API
    answer = _expire(platform, shop_id=SHOP_ID)
    assert (answer.json()["code"], answer.json()["data"]) == (0, {"expired_grants": 1})
    # Then the old token is refused as expired
    auth = UrlSigningAuth(APP_KEY, APP_SECRET, credentials.access_token, credentials.shop_cipher)
    old = httpx.Client(base_url=platform.url, auth=auth, trust_env=False)
    refused = old.get(f"{CS}/conversations", params={"page_size": "5"})
    assert (refused.status_code, refused.json()["code"]) == (401, 105002)
    # And the connector refreshes once, keeps the new pair and carries on
    assert len(api.list_conversations().items) == 1
    assert len(saved) == 1 and saved[0].access_token != credentials.access_token
    api.list_conversations()
    assert len(saved) == 1


def test_an_expired_refresh_token_is_auth_expired(platform: Platform):
    credentials = platform.credentials()
    saved: list[Credentials] = []
    api = platform.adapter().connect(credentials, on_tokens_refreshed=saved.append)
    # When the access and the refresh token expire (by the access token, this time)
    answer = _expire(platform, access_token=credentials.access_token, refresh=True)
    assert answer.json()["data"] == {"expired_grants": 1}
    # Then the connector reports AuthExpired (the seller must authorise again), nothing saved
    with pytest.raises(AuthExpired) as caught:
        api.list_conversations()
    assert saved == []
    for secret in (credentials.access_token, credentials.refresh_token, APP_SECRET):
        assert secret not in str(caught.value)


def test_expiring_a_token_needs_exactly_one_known_token_or_shop(platform: Platform):
    platform.credentials()
    for body in (
        {},
        {"shop_id": SHOP_ID, "access_token": "x"},
        {"access_token": "unknown"},
        {"shop_id": "1"},
    ):
        answer = _expire(platform, **body)
        assert (answer.status_code, answer.json()["code"]) == (400, 40006), body
    # The Python helper answers as the control API does
    assert platform.sim.expire_tokens(shop_id=SHOP_ID) == 1
    with pytest.raises(ValueError):
        platform.sim.expire_tokens()


# --- repeated query keys -----------------------------------------------------------------------
def _pairs_signed(p: Platform, path: str, pairs: list[tuple[str, str]], how: str) -> str:
    """The query string of ``pairs`` signed the way ``how`` says clients sign a repeated key."""
    query = [("app_key", APP_KEY), ("timestamp", str(int(time.time()))), *pairs]
    if how == "each":  # every occurrence, sorted (tiktok-shop-api)
        text = path + "".join(k + v for k, v in sorted(query, key=lambda kv: kv[0]))
        sign = hmac.new(
            APP_SECRET.encode(), (APP_SECRET + text + APP_SECRET).encode(), hashlib.sha256
        ).hexdigest()
    else:
        grouped: dict[str, list[str]] = {}
        for k, v in query:
            grouped.setdefault(k, []).append(v)
        if how == "joined":  # values comma-joined
            sign = sign_request(APP_SECRET, path, grouped)
        else:  # the first value (TikTok's guide samples)
            sign = sign_request(APP_SECRET, path, {k: v[0] for k, v in grouped.items()})
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in [*query, ("sign", sign)])


@pytest.mark.parametrize("how", ["each", "joined", "first"])
def test_a_repeated_query_key_is_refused_however_it_was_signed(platform: Platform, how: str):
    sim = platform.sim
    cid, _ = sim.buyer_message(SHOP_ID, buyer_user_id="b1", nickname="E", text="hi")
    creds = platform.credentials()
    headers = {"x-tts-access-token": creds.access_token, "content-type": "application/json"}
    cipher = ("shop_cipher", creds.shop_cipher)
    http = httpx.Client(timeout=5, trust_env=False)
    # A read with page_size twice
    path = f"{CS}/conversations"
    qs = _pairs_signed(platform, path, [cipher, ("page_size", "5"), ("page_size", "20")], how)
    answer = http.get(f"{platform.url}{path}?{qs}", headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (400, 40006)
    assert answer.json()["message"] == (
        "Invalid parameter. The query parameter page_size is repeated. Send each query parameter "
        "once; several values go comma-separated in one."
    )
    assert answer.json()["data"] is None
    # A send with its shop_cipher twice: refused, nothing sent
    path = f"{CS}/conversations/{cid}/messages"
    body = json.dumps({"type": "TEXT", "content": json.dumps({"content": "hello"})}).encode()
    qs = _pairs_signed(platform, path, [cipher, cipher], how)
    answer = http.post(f"{platform.url}{path}?{qs}", content=body, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (400, 40006)
    assert "shop_cipher is repeated" in answer.json()["message"]
    assert sim.sent_messages(SHOP_ID) == []
    assert sim.api_calls["POST", f"{CS}/conversations/{{conversation_id}}/messages"] == 0


def test_a_repeated_key_on_the_unsigned_token_endpoint_is_refused(platform: Platform):
    code = platform.sim.issue_auth_code(APP_KEY, [SHOP_ID])
    query = [
        ("app_key", APP_KEY),
        ("app_secret", APP_SECRET),
        ("auth_code", code),
        ("grant_type", "authorized_code"),
        ("grant_type", "refresh_token"),
    ]
    answer = httpx.get(f"{platform.url}/api/v2/token/get", params=query, trust_env=False)
    assert (answer.status_code, answer.json()["code"]) == (400, 40006)
    assert "grant_type is repeated" in answer.json()["message"]
    # the code was not spent: the same request without the repeat exchanges it
    single = httpx.get(f"{platform.url}/api/v2/token/get", params=query[:4], trust_env=False)
    assert single.json()["code"] == 0 and single.json()["data"]["access_token"]
