"""What the web server may ask the Celery broker: how many tasks wait in a queue.

Read by the webhook batcher's thread (``inbox.tasks.webhook_linger``) at most once a
``QUEUE_DEPTH_READ_EVERY``, outside any lock of the ack path, with 0.2 s socket timeouts: a
broker that is slow or down costs that thread one timeout a second and nothing else.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

QUEUE_DEPTH_READ_EVERY = 1.0  # seconds a read of a queue's length is trusted
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def is_redis_url(url: str) -> bool:
    return str(url).startswith(REDIS_SCHEMES)


class QueueDepth:
    """How many tasks wait in one of the broker's queues (Redis's LLEN of the queue's list),
    read at most once a ``QUEUE_DEPTH_READ_EVERY``. ``None`` without a Redis broker (the
    embedded mode's in-process worker) or when the read fails; a failure is logged once until
    a read succeeds again (by error class: no URL, no password)."""

    def __init__(self, queue: str) -> None:
        self.queue = queue
        self._client: Any = None
        self._pid = 0
        self._read_at = float("-inf")
        self._value: int | None = None
        self._failing = False

    def __call__(self) -> int | None:
        now = time.monotonic()
        if now - self._read_at < QUEUE_DEPTH_READ_EVERY:
            return self._value
        self._read_at = now
        url = str(settings.CELERY_BROKER_URL)
        if not is_redis_url(url):
            self._value = None
            return None
        if self._client is None or self._pid != os.getpid():  # a forked process: its own
            import redis

            self._client = redis.Redis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.2)
            self._pid = os.getpid()
        try:
            self._value = int(self._client.llen(self.queue))
        except Exception as exc:
            if not self._failing:
                logger.warning(
                    "broker: length of queue %r not read: %s", self.queue, type(exc).__name__
                )
            self._failing = True
            self._value = None
        else:
            if self._failing:
                logger.info("broker: length of queue %r read again", self.queue)
            self._failing = False
        return self._value
