"""The channel layers: Redis (services mode) with its blocking pop named and checked against
the socket timeout, and the in-memory one (embedded mode) made safe to send to from any thread.

Redis: channels-redis receives with ``BZPOPMIN key <brpop_timeout>`` (5 s, a class attribute with no
setting), and the redis client gives up on a read after ``socket_timeout`` (redis-py 8: 5 s by
default). With the two equal, an idle socket's receive raced the read timeout: the reply to a
pop that found nothing arrives just after 5 s, the client has already raised
``redis.exceptions.TimeoutError``, the consumer's receive loop dies with it, the websocket
closes, and ``disconnect()`` never runs. Here the pop is a setting and the layer refuses a host
whose socket timeout does not leave the pop room to answer.

Its ``group_send`` makes two round trips where channels-redis's makes four: the group's
expired members dropped and the rest read in one pipeline, then each channel's expired
messages dropped and the message added (capacity kept) in one script, sent by its SHA. A
worker pushes every stored message's events to its shop's group: the four round trips were a
tenth of the worker's time in the soak at 100 messages/s (docs/performance.md, issue 18).

Its receive on the server's process channel (``specific.<process>!``, where every socket of the
process gets its messages) is one pump per process: it pops up to ``RECEIVE_BATCH`` messages in
one ``ZPOPMIN`` (a blocking ``BZPOPMIN`` only when none wait) and hands each to its sockets'
buffers. channels-redis's made four round trips a message (its backup queue's script, the pop,
the backup's ``ZADD`` and a ``ZPOPMIN`` to clean it) and two tasks and a lock a message in the
receiving socket: a quarter of the server's CPU at 100 messages/s. The backup is not needed
here: a socket that stops receiving leaves nothing half-popped (the pump, not the socket, holds
what it popped), and the process channel's messages die with the process whatever is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from channels.layers import InMemoryChannelLayer as _InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer as _RedisChannelLayer
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio import connection as redis_connection
from redis.commands.core import AsyncScript

logger = logging.getLogger(__name__)

# Round trip and scheduling slack between Redis answering an empty pop and the client reading it.
MIN_READ_MARGIN_SECONDS = 1.0
# What redis-py uses when a host sets no socket timeout (5 s in redis-py 8).
REDIS_DEFAULT_SOCKET_TIMEOUT: float = getattr(redis_connection, "DEFAULT_SOCKET_TIMEOUT", 5)

_T = TypeVar("_T")

# KEYS: the channels' keys. ARGV: each key's message, then each key's capacity, then the
# oldest score kept, the score of this message and the keys' lifetime. Returns how many
# channels were full (their message dropped, as channels-redis does).
_GROUP_SEND_LUA = """
local n = #KEYS
local oldest = ARGV[2 * n + 1]
local now = ARGV[2 * n + 2]
local expiry = ARGV[2 * n + 3]
local over_capacity = 0
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, oldest)
    if redis.call('ZCARD', KEYS[i]) < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], now, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


# Messages the receive pump takes from the process channel in one round trip.
RECEIVE_BATCH = 100
# How long a cancelled receive pump is given to end before it is cancelled again.
PUMP_STOP_GRACE_SECONDS = 0.1


class _Failed:
    """What a socket's buffer gets when the pump's Redis call failed: its receive raises."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class RedisChannelLayer(_RedisChannelLayer):
    """channels-redis's layer whose blocking pop (``blocking_pop_seconds``) is configurable,
    with a cheaper group send and process-channel receive (see the module)."""

    def __init__(self, *, blocking_pop_seconds: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.brpop_timeout = blocking_pop_seconds
        for host in self.hosts:
            socket_timeout = host.get("socket_timeout", REDIS_DEFAULT_SOCKET_TIMEOUT)
            # None means "no read timeout" (a blocking read): nothing to race.
            if socket_timeout is not None and (
                socket_timeout < blocking_pop_seconds + MIN_READ_MARGIN_SECONDS
            ):
                raise ImproperlyConfigured(
                    f"The channel layer's Redis socket timeout ({socket_timeout} s) must exceed "
                    f"its blocking pop ({blocking_pop_seconds} s) by at least "
                    f"{MIN_READ_MARGIN_SECONDS} s, or idle websockets are closed "
                    "(SCRM_REDIS_SOCKET_TIMEOUT, SCRM_CHANNEL_BLOCKING_POP_SECONDS)."
                )
        self._group_send_script: AsyncScript | None = None
        self._pump: asyncio.Task[None] | None = None
        self._pump_loop: asyncio.AbstractEventLoop | None = None
        self._pump_receivers = 0
        self._receiving: set[str] = set()  # this process's channels that receive (sockets)

    # --- receive on the process channel: one pump ----------------------------------------
    async def receive(self, channel: str) -> Any:
        """The next message for ``channel``; a process-local one (``…!…``) from the pump."""
        if "!" not in channel:
            return await super().receive(channel)
        self.require_valid_channel_name(channel)  # raises TypeError for an invalid name
        process_channel = self.non_local_name(channel)
        if not process_channel.endswith(self.client_prefix + "!"):
            raise ValueError("a channel of another process cannot be received here")
        self._receiving.add(channel)
        queue = self.receive_buffer[channel]
        if queue.empty():
            self._pump_receivers += 1
            try:
                self._pump_ensure(process_channel)
                item = await queue.get()
            except asyncio.CancelledError:
                # The socket is closing: drop its buffer (as channels-redis does).
                self.receive_buffer.pop(channel, None)
                self._receiving.discard(channel)
                raise
            finally:
                self._pump_receivers -= 1
        else:
            item = queue.get_nowait()
        if queue.empty() and self.receive_buffer.get(channel) is queue:
            del self.receive_buffer[channel]
        if isinstance(item, _Failed):
            raise item.error.with_traceback(None)
        return item

    def _pump_ensure(self, process_channel: str) -> None:
        loop = asyncio.get_running_loop()
        pump = self._pump
        if pump is not None and not pump.done():
            if self._pump_loop is loop:
                return
            old = self._pump_loop
            if old is not None and old.is_running() and not old.is_closed():
                raise RuntimeError(
                    "Two event loops are trying to receive() on one channel layer at once!"
                )
        self._pump_loop = loop
        self._pump = loop.create_task(self._pump_run(process_channel))

    async def _pump_run(self, process_channel: str) -> None:
        """Pop the process channel's messages into their sockets' buffers while any socket
        waits; a Redis failure is handed to every buffer (each waiting receive raises it)."""
        key = self.prefix + process_channel
        index = self.consistent_hash(process_channel)
        try:
            while self._pump_receivers > 0:
                connection = self.connection(index)
                popped = await connection.zpopmin(key, RECEIVE_BATCH)
                if popped:
                    contents = [item[0] for item in popped]
                else:
                    found = await connection.bzpopmin(key, timeout=self.brpop_timeout)
                    contents = [found[1]] if found else []
                for content in contents:
                    self._pump_deliver(process_channel, content)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("channel layer receive failed: %s", type(exc).__name__)
            self._receivers_fail(exc)

    def _receivers_fail(self, error: BaseException) -> None:
        """Every socket of the process that receives, waiting now or not, gets ``error`` at
        its next receive: it closes, and its page reconnects and reads the change feed (what
        the pump had popped is lost with the failure)."""
        for channel in self._receiving | set(self.receive_buffer):
            self.receive_buffer[channel].put_nowait(_Failed(error))

    def _pump_deliver(self, process_channel: str, content: bytes) -> None:
        try:
            message = self.deserialize(content)
        except Exception as exc:  # one unreadable message: dropped, the others delivered
            logger.warning("channel layer message unreadable: %s", type(exc).__name__)
            return
        target = message.pop("__asgi_channel__", process_channel)
        for channel in target if isinstance(target, list) else [target]:
            self.receive_buffer[channel].put_nowait(message)

    async def close_pools(self) -> None:
        await self.receive_pump_stop()
        await super().close_pools()

    async def receive_pump_stop(self, *, idle_only: bool = False) -> None:
        """Stop the receive pump if it runs in this event loop (at the process's end, from
        ``close_pools``; with ``idle_only``, only while no socket waits on it). Sockets still
        waiting fail as on a Redis error: nothing would wake them.

        A pump cancelled while its first pop is connecting to Redis waits out redis-py's close
        of that half-made connection, its connect timeout (5 s), unless cancelled again: so
        after a moment it is (each refused test handshake's teardown took 5.5 s). A socket
        that starts receiving meanwhile starts a pump of its own and is left to it. Messages
        a cancelled pop had taken are lost with it, as at a process's end; with ``idle_only``
        (tests) no socket was waiting for them."""
        pump = self._pump
        if pump is None or pump.done() or self._pump_loop is not asyncio.get_running_loop():
            return
        if idle_only and self._pump_receivers:
            return
        self._pump = None
        pump.cancel()
        done, _ = await asyncio.wait({pump}, timeout=PUMP_STOP_GRACE_SECONDS)
        if not done:
            pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        if self._pump is None and self._pump_receivers and not idle_only:
            self._receivers_fail(ConnectionError("the channel layer was closed"))

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every channel of ``group``, as channels-redis does (expired
        members and messages dropped, a full channel skipped and logged), in two round trips."""
        self.require_valid_group_name(group)  # raises TypeError for an invalid name
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        pipe = connection.pipeline(transaction=False)
        pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        pipe.zrange(key, 0, -1)
        _, members = await pipe.execute()
        if not members:
            return
        channel_names = [m.decode("utf8") for m in members]
        by_connection, messages, capacities = self._map_channel_keys_to_connection(
            channel_names, message
        )
        if self._group_send_script is None:
            self._group_send_script = connection.register_script(_GROUP_SEND_LUA)
        for index, keys in by_connection.items():
            now = time.time()
            over = await self._group_send_script(
                keys=keys,
                args=[
                    *(messages[k] for k in keys),
                    *(capacities[k] for k in keys),
                    int(now) - int(self.expiry),
                    now,
                    self.expiry,
                ],
                client=self.connection(index),
            )
            if over:
                logger.info(
                    "%s of %s channels over capacity in group %s", over, len(channel_names), group
                )


class InMemoryChannelLayer(_InMemoryChannelLayer):
    """Channels' in-memory layer (embedded mode), safe to send to from any thread.

    The base class keeps its queues and groups for the event loop that receives: the server's.
    A push from another thread (the in-process worker, the scheduler) runs under
    ``async_to_sync`` on a loop of its own, and there the base class would wake the server's
    waiting receive from the wrong thread: the event sat unseen until something else woke the
    server's loop (seconds on an idle loop, measured), and the group tables were read while the
    server changed them. Here every call made on another running loop is handed to the loop
    that receives, and waits for it there.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._home: asyncio.AbstractEventLoop | None = None

    async def _at_home(self, call: Callable[[], Awaitable[_T]]) -> _T:
        home = self._home
        if (
            home is None
            or home is asyncio.get_running_loop()
            or home.is_closed()
            or not home.is_running()
        ):
            return await call()
        handed = asyncio.run_coroutine_threadsafe(_awaited(call), home)
        return await asyncio.wait_for(asyncio.wrap_future(handed), HANDOVER_TIMEOUT_SECONDS)

    async def receive(self, channel: str) -> Any:
        self._home = asyncio.get_running_loop()
        return await super().receive(channel)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        await self._at_home(functools.partial(super().send, channel, message))

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await self._at_home(functools.partial(super().group_send, group, message))

    async def group_add(self, group: str, channel: str) -> None:
        await self._at_home(functools.partial(super().group_add, group, channel))

    async def group_discard(self, group: str, channel: str) -> None:
        await self._at_home(functools.partial(super().group_discard, group, channel))


# A push is a hint (the change feed is the truth): never wait long for a busy server loop.
HANDOVER_TIMEOUT_SECONDS = 5.0


async def _awaited(call: Callable[[], Awaitable[_T]]) -> _T:
    return await call()
