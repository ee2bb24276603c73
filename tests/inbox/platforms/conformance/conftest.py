"""Fixtures of the conformance tests: the simulator over HTTP with the independent client on it,
and a webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tiktok_shop_api import TikTokShop, TikTokShopAuth

from inbox.platforms.tiktok_shop.simulator import Simulator, SimulatorServer
from tests.inbox.platforms.conformance.client import (
    APP_KEY,
    APP_SECRET,
    SHOP_ID,
    Receiver,
    Recorder,
    World,
)


@pytest.fixture
def tts(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A simulator served over HTTP with one shop and a token pair for it; the independent
    client on it, signing for that shop (``tts.shop``) and for OAuth (``tts.auth``)."""
    # Local HTTP only: an environment proxy must not carry the client's calls elsewhere.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    sim = Simulator(auto_push=False)
    sim.add_app(APP_KEY, APP_SECRET)
    cipher = sim.add_shop(APP_KEY, shop_id=SHOP_ID, name="Conformance US", region="US")
    tokens = sim.grant(APP_KEY, [SHOP_ID])
    server = SimulatorServer(sim).start()
    recorder = Recorder()
    auth = TikTokShopAuth(APP_KEY, APP_SECRET, base_url=server.base_url, transport=recorder)
    shop = TikTokShop(
        APP_KEY,
        APP_SECRET,
        access_token=tokens["access_token"],
        shop_cipher=cipher,
        base_url=server.base_url,
        timeout=10,
        transport=recorder,
    )
    yield World(
        sim, server, recorder, auth, shop, tokens["access_token"], tokens["refresh_token"], cipher
    )
    shop.close()
    recorder.shutdown()
    server.stop()
    sim.close()


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    """A webhook endpoint over HTTP that keeps what it receives."""
    r = Receiver()
    yield r
    r.stop()
