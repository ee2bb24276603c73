"""A services-mode socket held idle past every timeout on the live-update path still receives.

The real server (``manage.py serve``: Uvicorn, ``scrm.asgi.application``, channels-redis on the
real Redis) runs in a subprocess with every timeout shortened; a real websocket client signed in
with a session cookie stays silent past all of them, then an event published in this process
must reach it, and the user's presence must be back to zero after it closes.
"""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from django.test import Client

from tests.inbox.event_payloads import marked, marker_of
from tests.serve import free_port, serve_process, services_env, services_only, wait_listening

pytestmark = [
    services_only("the failure lives between channels-redis and the Redis client"),
    pytest.mark.django_db(transaction=True),
]

# Every timeout on the path, shortened, in the order a message meets them.
SHORT = {
    "SCRM_WS_PING_INTERVAL": "1",  # uvicorn's protocol ping to the client
    "SCRM_WS_PING_TIMEOUT": "1",
    "SCRM_CHANNEL_BLOCKING_POP_SECONDS": "1",  # channels-redis's BZPOPMIN
    "SCRM_REDIS_SOCKET_TIMEOUT": "2",  # the Redis client's read timeout
    "SCRM_REDIS_HEALTH_CHECK_SECONDS": "1",
    "SCRM_WS_RECHECK_SECONDS": "2",  # the consumer's re-check and re-join
    "SCRM_CHANNEL_GROUP_EXPIRY_SECONDS": "4",  # channels-redis forgets group members
    "SCRM_WS_CLIENT_PING_SECONDS": "1",
}
IDLE_SECONDS = 9  # past all of the above, several times over for the shortest


@pytest.fixture
def server(transactional_db):
    """``manage.py serve`` on the test database and this run's Redis, timeouts shortened."""
    port = free_port()
    process, log = serve_process(port, services_env(**SHORT), "scrm-idle-")
    wait_listening(process, port, log)
    yield port, log
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.unlink(missing_ok=True)


@pytest.fixture
def short_publisher(settings):
    """This process publishes through a layer with the server's group expiry: channels-redis
    drops expired group members when it sends, with the sender's expiry."""
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["group_expiry"] = int(SHORT["SCRM_CHANNEL_GROUP_EXPIRY_SECONDS"])
    settings.CHANNEL_LAYERS = layers


def _publish(shop) -> int:
    from scrm.events import event_publish

    with transaction.atomic():
        event = event_publish(
            organisation_id=shop.organisation_id,
            shop_account_id=shop.id,
            type="conversation.updated",
            data=marked("conversation.updated", "after-idle"),
        )
    return event.id


def _presence(user) -> int:
    from inbox.models import AgentPresence

    row = AgentPresence.objects.filter(user=user).first()
    return row.connections if row else 0


def test_an_idle_socket_outlives_every_timeout_and_still_receives(world, server, short_publisher):
    import websockets

    port, log = server
    client = Client()
    client.force_login(world.agent_a1)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    async def scenario() -> tuple[dict, float]:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/ws/inbox/",
            origin=f"http://127.0.0.1:{port}",
            additional_headers={"Cookie": cookie},
            ping_interval=None,  # silent: only the server's protocol pings keep it company
        ) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello"
            assert await sync_to_async(_presence)(world.agent_a1) == 1

            # Given the socket idle past every timeout
            await asyncio.sleep(IDLE_SECONDS)

            # When an event is published for the user's shop
            sent_id = await sync_to_async(_publish)(world.shop_a1)
            started = time.monotonic()

            # Then it arrives
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if event.get("id") == sent_id:
                    return event, time.monotonic() - started

    event, latency = asyncio.run(scenario())
    assert marker_of("conversation.updated", event["data"]) == "after-idle"
    assert latency < 2

    # And the closed socket left no presence behind
    deadline = time.monotonic() + 5
    while _presence(world.agent_a1) != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _presence(world.agent_a1) == 0
    assert "TimeoutError" not in log.read_text()
