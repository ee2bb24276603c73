"""Settings read once per unit of work (``work_memo``), not once per item of it.

A worker processing a batch of webhooks stores one conversation after another; each new one
reads its shop's SLA policy and calendar. Inside ``work_memo()`` a value asked for through
``remembered(key, read)`` is read the first time and served from memory after that, for at most
``MAX_AGE_SECONDS``; outside the block every call reads. What may be remembered is
configuration that people change by hand (a policy, a calendar), never rows the work itself
writes: an edit made while a batch runs applies from the next batch (a few seconds at most),
as if it had been made that much later.

The memo belongs to the calling context (a ``ContextVar``): threads and tasks do not share one;
a block inside another uses the outer one. ``forget_all()`` drops what every block of this
process holds (a settings edit saved here, in embedded mode beside the worker); other
processes' blocks drop theirs within ``MAX_AGE_SECONDS``, and a writer whose edit must reach work
done meanwhile acts again after that long (the SLA recompute does:
``monitoring.services.sla_settings``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

# A value older than this is read again, however long the unit of work runs.
MAX_AGE_SECONDS = 5.0

_memo: ContextVar[dict[Hashable, tuple[float, int, Any]] | None] = ContextVar(
    "work_memo", default=None
)
_generation = 0  # forget_all() moves it on: what was remembered before is read again


def forget_all() -> None:
    """Every value remembered in this process so far is read again at its next use."""
    global _generation
    _generation += 1


@contextmanager
def work_memo() -> Iterator[None]:
    """Within the block, ``remembered`` values are read once (per ``MAX_AGE_SECONDS``)."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def remembered(key: Hashable, read: Callable[[], T]) -> T:
    """``read()``, or inside ``work_memo`` what it returned for ``key`` less than
    ``MAX_AGE_SECONDS`` ago. A read that raises is not remembered."""
    memo = _memo.get()
    if memo is None:
        return read()
    now, generation = time.monotonic(), _generation
    held = memo.get(key)
    if held is not None and now - held[0] < MAX_AGE_SECONDS and held[1] == generation:
        return held[2]
    value = read()
    memo[key] = (now, generation, value)
    return value
