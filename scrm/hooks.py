"""In-process hooks: a moment one app announces and other apps act on, without the announcing
app importing them (apps meet through selectors and events, docs/architecture.md).

The announcing service calls ``emit`` inside its transaction; each subscriber runs there, in
the order they subscribed, so what it writes commits or rolls back with the change. A
subscriber must not do I/O (``transaction.on_commit`` is for that) and should not raise for a
reason the announcing service's caller cannot act on: an exception rolls the whole change back.
Apps subscribe in their ``AppConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Hook(Generic[T]):
    """One moment (``name``, for messages) and its subscribers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._subscribers: list[Callable[[T], None]] = []

    def subscribe(self, subscriber: Callable[[T], None]) -> Callable[[T], None]:
        """Call ``subscriber`` at every ``emit``; usable as a decorator; twice is once."""
        if subscriber not in self._subscribers:
            self._subscribers.append(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Callable[[T], None]) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def emit(self, moment: T) -> None:
        """Hand ``moment`` to every subscriber (call inside the announcing transaction)."""
        for subscriber in list(self._subscribers):
            subscriber(moment)

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._subscribers)} subscriber(s)>"
