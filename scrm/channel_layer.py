"""The channel layers: Redis (services mode) with its blocking pop named and checked against
the socket timeout, and the in-memory one (embedded mode) made safe to send to from any thread.

Redis: channels-redis receives with ``BZPOPMIN key <brpop_timeout>`` (5 s, a class attribute with no
setting), and the redis client gives up on a read after ``socket_timeout`` (redis-py 8: 5 s by
default). With the two equal, an idle socket's receive raced the read timeout: the reply to a
pop that found nothing arrives just after 5 s, the client has already raised
``redis.exceptions.TimeoutError``, the consumer's receive loop dies with it, the websocket
closes, and ``disconnect()`` never runs. Here the pop is a setting and the layer refuses a host
whose socket timeout does not leave the pop room to answer.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from channels.layers import InMemoryChannelLayer as _InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer as _RedisChannelLayer
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio import connection as redis_connection

# Round trip and scheduling slack between Redis answering an empty pop and the client reading it.
MIN_READ_MARGIN_SECONDS = 1.0
# What redis-py uses when a host sets no socket timeout (5 s in redis-py 8).
REDIS_DEFAULT_SOCKET_TIMEOUT: float = getattr(redis_connection, "DEFAULT_SOCKET_TIMEOUT", 5)

_T = TypeVar("_T")


class RedisChannelLayer(_RedisChannelLayer):
    """channels-redis's layer whose blocking pop (``blocking_pop_seconds``) is configurable."""

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
