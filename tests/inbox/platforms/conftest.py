"""Fixtures the simulator tests share: a clock, the simulator served over HTTP, a signing client
for the demo shop and a webhook receiver. A test module overrides what differs (another shop,
the real clock, the events the receiver is subscribed to)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inbox.platforms.tiktok_shop.simulator import Simulator, SimulatorServer
from tests.inbox.platforms.test_simulator import (
    APP_KEY,
    APP_SECRET,
    SHOP_ID,
    Client,
    Clock,
    Receiver,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> Iterator[Simulator]:
    simulator = Simulator(auto_push=False, clock=clock)
    simulator.add_app(APP_KEY, APP_SECRET)
    yield simulator
    simulator.close()


@pytest.fixture
def cipher(sim: Simulator) -> str:
    return sim.add_shop(APP_KEY, shop_id=SHOP_ID, name="Demo US", region="US")


@pytest.fixture
def server(sim: Simulator) -> Iterator[SimulatorServer]:
    srv = SimulatorServer(sim).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(sim: Simulator, server: SimulatorServer, cipher: str, clock: Clock) -> Client:
    token = sim.grant(APP_KEY, [SHOP_ID])["access_token"]
    return Client(server.base_url, token, cipher, clock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.httpd.shutdown()
