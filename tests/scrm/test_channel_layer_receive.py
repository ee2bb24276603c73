"""The Redis layer's receive on a server process's channel (one pump a process): every socket
of the process gets its messages once, in order, from batched pops; a socket that closes while
waiting takes nothing from the others; the pump stops when no socket waits and starts again;
a Redis failure reaches the waiting sockets as an error, not as silence."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from django.conf import settings
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from scrm.channel_layer import RECEIVE_BATCH, RedisChannelLayer

pytestmark = pytest.mark.skipif(
    not settings.SERVICES_MODE, reason="the Redis layer (services mode: REDIS_URL)"
)


def _layer(**config) -> RedisChannelLayer:
    return RedisChannelLayer(
        hosts=[{"address": os.environ["REDIS_URL"], "socket_timeout": 10}],
        prefix=f"t-rc-{os.getpid()}-{time.monotonic_ns()}",
        blocking_pop_seconds=1,
        **config,
    )


async def _received(layer: RedisChannelLayer, channel: str, count: int) -> list[int]:
    return [(await layer.receive(channel))["n"] for _ in range(count)]


async def test_a_burst_reaches_every_socket_of_the_process_once_in_order():
    layer = _layer(capacity=1000)
    sockets = [await layer.new_channel() for _ in range(5)]
    for channel in sockets:
        await layer.group_add("shop.1", channel)
    count = RECEIVE_BATCH * 2 + 7  # more than one pop's batch, while the sockets wait
    waiting = [asyncio.create_task(_received(layer, channel, count)) for channel in sockets]
    await asyncio.sleep(0.1)
    # When a burst is sent to the group, and a direct message to one socket after it
    for n in range(count):
        await layer.group_send("shop.1", {"type": "inbox.event", "n": n})
    await layer.send(sockets[0], {"type": "inbox.event", "n": -1})
    # Then every socket got the whole burst once, in order, and the first its own message
    for task in waiting:
        assert await asyncio.wait_for(task, 20) == list(range(count))
    assert (await asyncio.wait_for(layer.receive(sockets[0]), 5))["n"] == -1
    for channel in sockets:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.3)
    await layer.flush()


async def test_a_socket_closing_while_it_waits_takes_nothing_from_the_others():
    layer = _layer()
    staying, leaving = await layer.new_channel(), await layer.new_channel()
    for channel in (staying, leaving):
        await layer.group_add("shop.2", channel)
    # Given both sockets waiting, the leaving one started first (the pump runs for both)
    leaving_task = asyncio.create_task(layer.receive(leaving))
    await asyncio.sleep(0.05)
    staying_task = asyncio.create_task(_received(layer, staying, 3))
    await asyncio.sleep(0.1)
    # When the leaving socket closes while the pump is blocked in its pop
    leaving_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving_task
    for n in range(3):
        await layer.group_send("shop.2", {"type": "inbox.event", "n": n})
    # Then the staying socket gets every message
    assert await asyncio.wait_for(staying_task, 5) == [0, 1, 2]
    await layer.flush()


async def test_the_pump_stops_when_no_socket_waits_and_starts_again():
    layer = _layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "inbox.event", "n": 1})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 1
    # When no socket waits for longer than the blocking pop
    await asyncio.sleep(1.5)
    # Then nothing is popping the process channel any more
    assert layer._pump is not None and layer._pump.done()
    # And a message sent meanwhile waits in Redis for the next receive, which gets it
    await layer.send(channel, {"type": "inbox.event", "n": 2})
    redis = Redis.from_url(os.environ["REDIS_URL"])
    key = layer.prefix + layer.non_local_name(channel)
    assert await redis.zcard(key) == 1
    assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 2
    await redis.aclose()
    await layer.flush()


async def test_a_redis_failure_reaches_the_waiting_socket_as_an_error():
    # Given a layer on a Redis that does not answer (a closed port)
    layer = RedisChannelLayer(
        hosts=[{"address": "redis://127.0.0.1:9/0", "socket_timeout": 3}],
        prefix="t-rc-down",
        blocking_pop_seconds=1,
    )
    channel = await layer.new_channel()
    # When a socket waits for its next message
    # Then its receive raises (the consumer closes; the client reconnects and catches up)
    with pytest.raises(RedisConnectionError):
        await asyncio.wait_for(layer.receive(channel), 10)


async def test_an_unreadable_message_is_dropped_and_the_others_still_arrive():
    layer = _layer()
    first, second = await layer.new_channel(), await layer.new_channel()
    waiting = [asyncio.create_task(layer.receive(channel)) for channel in (first, second)]
    await asyncio.sleep(0.1)
    # Given bytes no serializer reads, queued on the process channel before good messages
    redis = Redis.from_url(os.environ["REDIS_URL"])
    key = layer.prefix + layer.non_local_name(first)
    await redis.zadd(key, {b"\x00not a message": time.time() - 1})
    await layer.send(first, {"type": "inbox.event", "n": 1})
    await layer.send(second, {"type": "inbox.event", "n": 2})
    # Then both sockets get their message; neither sees an error
    assert [(await asyncio.wait_for(task, 5))["n"] for task in waiting] == [1, 2]
    await redis.aclose()
    await layer.flush()
