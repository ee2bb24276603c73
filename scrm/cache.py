"""Django's Redis cache with one client, and so one connection pool, per process.

Django keeps a cache's instance per context (``caches`` is an ``asgiref.local.Local``), and
under ASGI every request runs in a context and a thread of its own. ``RedisCache`` builds its
client, and the client its connection pool, per instance: so every served request opened a new
TCP connection to Redis to read its session (redis-py's handshake included: a look-up of its
own version in the installed packages' metadata at every connect), and left it to the garbage
collector: Redis counted 212 connections for 210 queue requests (docs/performance.md, "Issue 18,
fifteenth session").

Here the instances of one configuration share one client: redis-py's pool is thread-safe (a
call takes a connection from it and gives it back); after a fork (Celery's pool) it starts
afresh in the child. ``close`` (Django calls it at each request's end) leaves the shared pool
open, as Django 5.2's own does. Settings: ``CACHES["default"]["BACKEND"]`` in services mode
(scrm/settings.py).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.utils.functional import cached_property

_lock = threading.Lock()
_clients: dict[tuple[Any, ...], Any] = {}


class RedisCache(DjangoRedisCache):
    @cached_property
    def _cache(self) -> Any:
        # Django's own attributes (its stubs leave them out)
        servers, options = self._servers, self._options  # type: ignore[attr-defined]
        key = (tuple(servers), repr(sorted(options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(servers, **options)  # type: ignore[attr-defined]
        return client

    def close(self, **kwargs: Any) -> None:
        """Nothing to close per request: the connections are the process's (see above)."""
