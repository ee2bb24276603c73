"""Offsets back to the original text through the normalisation's rewriting steps (normalise.py):
each step is kept as its edits, and an index is mapped back through them with a binary search,
on demand (most texts have no match; a match needs two offsets, not a list per character)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import overload


class Stage:
    """One rewriting step from a source string to a derived one, as its edits: source span
    ``[sstart, send)`` became derived span ``[dstart, dend)`` (empty for a deletion); between
    edits characters map one to one. ``start(i)``, ``end(i)``: the source span of derived
    character i."""

    __slots__ = ("dends", "dstarts", "sends", "sstarts")

    def __init__(self) -> None:
        self.dstarts: list[int] = []
        self.dends: list[int] = []
        self.sstarts: list[int] = []
        self.sends: list[int] = []

    def add(self, sstart: int, send: int, dstart: int, length: int) -> None:
        self.sstarts.append(sstart)
        self.sends.append(send)
        self.dstarts.append(dstart)
        self.dends.append(dstart + length)

    def start(self, i: int) -> int:
        k = bisect_right(self.dstarts, i) - 1
        if k < 0:
            return i
        if i < self.dends[k]:
            return self.sstarts[k]
        return self.sends[k] + i - self.dends[k]

    def end(self, i: int) -> int:
        k = bisect_right(self.dstarts, i) - 1
        if k < 0:
            return i + 1
        if i < self.dends[k]:
            return self.sends[k]
        return self.sends[k] + i - self.dends[k] + 1


class Offsets(Sequence[int]):
    """Original offsets of a view's characters, worked out per index on demand through the
    stages (most texts have no match, and a match needs two offsets, not the whole list)."""

    __slots__ = ("_get", "_size")

    def __init__(self, get: Callable[[int], int], size: int) -> None:
        self._get = get
        self._size = size

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, i: int) -> int: ...
    @overload
    def __getitem__(self, i: slice) -> list[int]: ...
    def __getitem__(self, i: int | slice) -> int | list[int]:
        if isinstance(i, slice):
            return [self._get(j) for j in range(*i.indices(self._size))]
        if i < 0:
            i += self._size
        if not 0 <= i < self._size:
            raise IndexError(i)
        return self._get(i)


def chain(*stages: Stage | None) -> tuple[Callable[[int], int], Callable[[int], int]]:
    """Start and end (in the original) of a character of the last stage's derived text."""
    live = [s for s in stages if s is not None]
    starts = [s.start for s in reversed(live)]
    ends = [s.end for s in reversed(live)]

    def start(i: int) -> int:
        for f in starts:
            i = f(i)
        return i

    def end(i: int) -> int:
        i += 1
        for f in ends:
            i = f(i - 1)
        return i

    return start, end
