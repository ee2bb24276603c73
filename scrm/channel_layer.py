"""The Redis channel layer with its blocking pop named and checked against the socket timeout.

channels-redis receives with ``BZPOPMIN key <brpop_timeout>`` (5 s, a class attribute with no
setting), and the redis client gives up on a read after ``socket_timeout`` (redis-py 8: 5 s by
default). With the two equal, an idle socket's receive raced the read timeout: the reply to a
pop that found nothing arrives just after 5 s, the client has already raised
``redis.exceptions.TimeoutError``, the consumer's receive loop dies with it, the websocket
closes, and ``disconnect()`` never runs. Here the pop is a setting and the layer refuses a host
whose socket timeout does not leave the pop room to answer.
"""

from __future__ import annotations

from typing import Any

from channels_redis.core import RedisChannelLayer as _RedisChannelLayer
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio import connection as redis_connection

# Round trip and scheduling slack between Redis answering an empty pop and the client reading it.
MIN_READ_MARGIN_SECONDS = 1.0
# What redis-py uses when a host sets no socket timeout (5 s in redis-py 8).
REDIS_DEFAULT_SOCKET_TIMEOUT: float = getattr(redis_connection, "DEFAULT_SOCKET_TIMEOUT", 5)


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
