"""Presence does not leak: a socket whose channel layer dies still leaves, and a count that
no live socket refreshes stops counting."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from inbox.models import AgentPresence
from inbox.services.assignment import online_agents
from inbox.services.presence import PRESENCE_WINDOW, presence_connect
from tests.inbox.ws_client import connect, hello

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _connections(user) -> int:
    row = AgentPresence.objects.filter(user=user).first()
    return row.connections if row else 0


async def test_a_socket_whose_channel_layer_fails_still_leaves_presence(world, monkeypatch):
    # Given a channel layer whose receive will fail the way Redis's read timeout failed it
    layer = get_channel_layer()
    original = layer.receive
    broken = asyncio.Event()

    async def receive(channel):
        waiter = asyncio.ensure_future(original(channel))
        breaker = asyncio.ensure_future(broken.wait())
        done, _ = await asyncio.wait({waiter, breaker}, return_when=asyncio.FIRST_COMPLETED)
        if waiter in done:
            breaker.cancel()
            return waiter.result()
        waiter.cancel()
        raise TimeoutError("Timeout reading from 127.0.0.1:6379")

    monkeypatch.setattr(layer, "receive", receive)
    socket, ok = await connect(world.agent_a1)
    assert ok
    await hello(socket)
    assert await sync_to_async(_connections)(world.agent_a1) == 1

    # When the layer's receive dies (the server closes the socket; no websocket.disconnect)
    broken.set()
    with pytest.raises(TimeoutError):
        await socket.wait(timeout=2)

    # Then the consumer still counted itself out
    assert await sync_to_async(_connections)(world.agent_a1) == 0


async def test_an_open_socket_keeps_its_user_online_by_its_timer(world, settings):
    # Given sockets refreshing presence every 0.2 s and agent_a1 connected
    settings.SCRM_WS_RECHECK_SECONDS = 0.2
    socket, ok = await connect(world.agent_a1)
    assert ok
    await hello(socket)
    long_ago = timezone.now() - PRESENCE_WINDOW - timedelta(minutes=1)
    await sync_to_async(AgentPresence.objects.filter(user=world.agent_a1).update)(
        last_seen_at=long_ago
    )

    # When a timer period passes (the client sends nothing)
    await asyncio.sleep(0.5)

    # Then the socket refreshed the user's presence
    row = await sync_to_async(AgentPresence.objects.get)(user=world.agent_a1)
    assert row.last_seen_at > long_ago + timedelta(minutes=1)
    assert await sync_to_async(online_agents)(world.shop_a1) == [world.agent_a1.pk]
    await socket.disconnect()


async def test_a_count_no_live_socket_refreshes_stops_counting(world):
    await sync_to_async(_stale_count_scenario)(world)


def _stale_count_scenario(world):
    # Given 17 sockets counted whose processes died without disconnecting (the figure)
    for _ in range(17):
        presence_connect(user_id=world.agent_a1.pk)
    stale = timezone.now() - PRESENCE_WINDOW - timedelta(seconds=1)
    AgentPresence.objects.filter(user=world.agent_a1).update(last_seen_at=stale)

    # Then the agent is not online (nothing refreshed the count within the window)
    assert online_agents(world.shop_a1) == []

    # And the next socket counts from one, not eighteen
    presence_connect(user_id=world.agent_a1.pk)
    assert _connections(world.agent_a1) == 1
