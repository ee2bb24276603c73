"""The Redis layer's group send in two round trips keeps channels-redis's behaviour: every
member gets the message once, in order; expired members and messages are dropped; a full
channel is skipped, not blocked; and it makes two round trips, not channels-redis's four."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from django.conf import settings
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from scrm.channel_layer import RedisChannelLayer

pytestmark = pytest.mark.skipif(
    not settings.SERVICES_MODE, reason="the Redis layer (services mode: REDIS_URL)"
)


def _layer(prefix: str = "", **config) -> RedisChannelLayer:
    """A layer of its own keys; another made with its ``prefix`` is another server process."""
    return RedisChannelLayer(
        hosts=[{"address": os.environ["REDIS_URL"], "socket_timeout": 10}],
        prefix=prefix or f"t-gs-{os.getpid()}-{time.monotonic_ns()}",
        blocking_pop_seconds=1,
        **config,
    )


async def test_every_member_gets_each_message_once_in_order():
    layer = _layer()
    elsewhere = _layer(layer.prefix)
    # Given two consumers of one process and one of another in a group
    first = await layer.new_channel()
    second = await layer.new_channel()
    other = await elsewhere.new_channel()
    for channel in (first, second, other):
        await layer.group_add("shop.7", channel)
    # When two messages are sent to the group
    await layer.group_send("shop.7", {"type": "inbox.event", "n": 1})
    await layer.group_send("shop.7", {"type": "inbox.event", "n": 2})
    # Then each consumer receives both, in order, and nothing more
    receivers = ((layer, first), (layer, second), (elsewhere, other))
    for receiver, channel in receivers:
        assert [(await receiver.receive(channel))["n"] for _ in range(2)] == [1, 2]
    for receiver, channel in receivers:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(receiver.receive(channel), 0.3)
    await layer.flush()


async def test_a_group_without_members_sends_nothing_and_an_expired_member_is_dropped():
    layer = _layer(group_expiry=2)
    await layer.group_send("shop.8", {"type": "inbox.event"})  # nobody: nothing to do
    channel = await layer.new_channel()
    await layer.group_add("shop.8", channel)
    redis = Redis.from_url(os.environ["REDIS_URL"])
    key = layer._group_key("shop.8")
    # Given a member that joined longer ago than the group's expiry
    await redis.zadd(key, {channel: time.time() - 10})
    # When the group is sent to
    await layer.group_send("shop.8", {"type": "inbox.event"})
    # Then the expired member is gone and got nothing
    assert await redis.zcard(key) == 0
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.3)
    await redis.aclose()
    await layer.flush()


async def test_a_full_channel_is_skipped_and_the_others_still_get_it():
    layer = _layer(capacity=2)
    elsewhere = _layer(layer.prefix, capacity=2)
    full = await layer.new_channel()
    free = await elsewhere.new_channel()
    for channel in (full, free):
        await layer.group_add("shop.9", channel)
    for n in range(2):
        await layer.send(full, {"type": "inbox.event", "n": n})
    # When a message is sent to a group with a full channel
    await layer.group_send("shop.9", {"type": "inbox.event", "n": 99})
    # Then the full channel keeps what it had and the other gets the message
    assert [(await layer.receive(full))["n"] for _ in range(2)] == [0, 1]
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(full), 0.3)
    assert (await elsewhere.receive(free))["n"] == 99
    await layer.flush()


async def test_a_group_send_is_two_round_trips():
    layer = _layer()
    for n in range(3):
        await layer.group_add("shop.10", f"specific.p{n}!c")
    await layer.group_send("shop.10", {"type": "inbox.event"})  # the script loaded
    connection = layer.connection(layer.consistent_hash("shop.10"))
    calls: list[str] = []
    execute_command = connection.execute_command

    async def counted(*args, **kwargs):
        calls.append(str(args[0]))
        return await execute_command(*args, **kwargs)

    pipeline_execute = Pipeline.execute

    async def counted_pipeline(self, *args, **kwargs):
        calls.append("pipeline")
        return await pipeline_execute(self, *args, **kwargs)

    connection.execute_command = counted  # type: ignore[method-assign]
    Pipeline.execute = counted_pipeline  # type: ignore[method-assign]
    try:
        await layer.group_send("shop.10", {"type": "inbox.event"})
    finally:
        Pipeline.execute = pipeline_execute  # type: ignore[method-assign]
        del connection.execute_command
    # One pipeline (expired members dropped, members read), one script by its SHA
    assert calls == ["pipeline", "EVALSHA"]
    await layer.flush()
