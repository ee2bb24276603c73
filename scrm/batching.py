"""Hand small items (ids) over in batches from one background thread.

The webhook ack path uses it to queue processing tasks: one Celery message costs about half a
millisecond of CPU, more than verifying and storing the webhook, so at a few hundred
deliveries a second one message per batch of ids is the difference that matters. Items are
ids of rows already committed; whatever a crash loses here is found again by a periodic sweep
(``inbox.tasks.reprocess_stale_webhooks``).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

_batchers: weakref.WeakSet[Any] = weakref.WeakSet()


def batchers_drain(timeout: float = 5.0) -> bool:
    """Hand over what every batcher of this process holds (a server shutting down: the ASGI
    lifespan's shutdown, ``scrm.asgi``); False if one did not finish within ``timeout``.

    ``atexit`` alone is not enough: a worker process of ``uvicorn --workers N`` is a
    multiprocessing child, which ends with ``os._exit`` and runs no ``atexit`` handler, so
    the ids its batcher held at a restart waited for the stale sweep (minutes)."""
    deadline = time.monotonic() + timeout
    results = [b.drain(max(0.0, deadline - time.monotonic())) for b in list(_batchers)]
    return all(results)


class Batcher(Generic[T]):
    """``add`` from any thread; ``flush`` is called from one daemon thread with at most
    ``max_items`` items, each having waited at most about ``linger`` seconds: a batch goes as
    soon as it is full, so a burst is not handed over one linger per batch, and at once when
    someone drains. ``linger`` may be a function, asked once a batch (outside the lock, so it
    may make a network call): how long this batch gathers."""

    def __init__(
        self,
        flush: Callable[[Sequence[T]], object],
        *,
        linger: float | Callable[[], float] = 0.01,
        max_items: int = 50,
        name: str = "batcher",
    ) -> None:
        self._flush = flush
        self._linger = linger
        self._max_items = max_items
        self._name = name
        self._items: list[T] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._busy = False
        self._draining = 0  # drain() calls waiting: hand over now
        _batchers.add(self)
        atexit.register(self.drain, 2.0)

    def add(self, item: T) -> None:
        with self._cond:
            self._items.append(item)
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._start()
            self._cond.notify_all()

    def drain(self, timeout: float = 5.0) -> bool:
        """Hand over every item added so far, without waiting out the linger, and wait until
        ``flush`` has had them; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._draining += 1
            self._cond.notify_all()
            try:
                while self._items or self._busy:
                    if self._thread is None or self._pid != os.getpid():
                        return not self._items
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
            finally:
                self._draining -= 1
        return True

    def _start(self) -> None:
        # Also after a fork: the parent's thread does not exist in the child, nor its drains.
        if self._pid != os.getpid():
            self._busy, self._draining = False, 0
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _linger_now(self) -> float:
        if not callable(self._linger):
            return self._linger
        try:
            return max(0.0, float(self._linger()))
        except Exception as exc:  # a batch still goes, at no linger rather than none at all
            logger.warning("%s: linger not known: %s", self._name, type(exc).__name__)
            return 0.0

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items:
                    self._cond.wait()
            linger = self._linger_now()
            with self._cond:
                # Let a batch gather, until it is full or someone drains.
                self._cond.wait_for(
                    lambda: len(self._items) >= self._max_items or self._draining > 0,
                    timeout=linger,
                )
                batch = self._items[: self._max_items]
                del self._items[: self._max_items]
                self._busy = True
            try:
                self._flush(batch)
            except Exception as exc:
                # Ids only, so nothing personal; the items' owner recovers them by its sweep.
                logger.error("%s: %d items not handed over: %s", self._name, len(batch), exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
