"""The multi-pattern matcher: Aho–Corasick automata (ahocorasick-rs, Rust) over every normalised
word and allow phrase of a list, built once per list version (four, the words spread by hash, so
a change rebuilds one); never a regex per word.

Matches are reported overlapping, so a word that fails its boundary check (``ass`` inside
``class``) never hides another that passes at the same place.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Container, Iterable

from ahocorasick_rs import BytesAhoCorasick, MatchKind

from monitoring.words.normalise import LATIN_CHAR

# The words are spread over a few automata by their hash: a list that changed by a word rebuilds
# one of them and takes the others from this process's cache (a rebuild of 20,000 words costs
# about a quarter), for a few more passes of the Rust search per text (microseconds each).
SHARDS = 4
_CACHE_MAX = 32  # shards kept for reuse (a live screener holds its own)
_cache: OrderedDict[frozenset[str], _Shard] = OrderedDict()
_cache_lock = threading.Lock()


class _Shard:
    """One automaton over some of the words, and which of them need a word boundary at their
    start (``left``) or end (``right``): those whose first / last character is a Latin letter or
    digit (CJK matches anywhere)."""

    __slots__ = ("ac", "left", "patterns", "right")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        # One regex pass over all first (last) characters, not one call per pattern.
        firsts = "".join(p[0] for p in patterns)
        lasts = "".join(p[-1] for p in patterns)
        self.left = frozenset(m.start() for m in LATIN_CHAR.finditer(firsts))
        self.right = frozenset(m.start() for m in LATIN_CHAR.finditer(lasts))
        # The library's own choice of implementation: measured with 20,000 words, it builds in
        # a seventh of the DFA's time (DFA: over a second) and searches about as fast. Over
        # UTF-8 bytes: the text is encoded once for all shards, and only a hit's offsets are
        # turned back into characters (the str interface does that for the whole text, each
        # call: measured ~7x slower on fresh Chinese text).
        self.ac = BytesAhoCorasick([p.encode() for p in patterns], MatchKind.Standard)


def _shard(patterns: frozenset[str]) -> _Shard:
    with _cache_lock:  # request threads build lists at once
        shard = _cache.get(patterns)
        if shard is not None:
            _cache.move_to_end(patterns)
            return shard
    # Sorted: the trie builds about twice as fast (20,000 words: ~40 against ~80 ms CPU).
    shard = _Shard(tuple(sorted(patterns)))
    with _cache_lock:
        _cache[patterns] = shard
        while len(_cache) > _CACHE_MAX:
            _cache.popitem(last=False)
    return shard


class Automaton:
    """Patterns (already normalised, unique) matched all at once."""

    __slots__ = ("_shards",)

    def __init__(self, patterns: Iterable[str]) -> None:
        buckets: list[list[str]] = [[] for _ in range(SHARDS)]
        for pattern in patterns:
            buckets[hash(pattern) % SHARDS].append(pattern)
        self._shards = [_shard(frozenset(bucket)) for bucket in buckets if bucket]

    def find(self, text: str, joins: Callable[[], Container[int]]) -> list[tuple[str, int, int]]:
        """(pattern, start, end) of every occurrence in ``text`` on its boundaries; a position
        in ``joins()`` (separators removed between single characters) is a boundary. ``joins``
        is called only when a boundary check fails (rarely: it costs a pass)."""
        if not text:
            return []
        data = text.encode()
        hits = [
            (shard, local, start)
            for shard in self._shards
            for local, start, _ in shard.ac.find_matches_as_indexes(data, overlapping=True)
        ]
        if not hits:
            return []
        size = len(text)
        chars: dict[int, int] | None = None
        if len(data) != size:
            # UTF-8 offsets to characters in one walk over the text (a hit starts on a character).
            chars = {}
            byte = char = 0
            for offset in sorted({start for _, _, start in hits}):
                char += len(data[byte:offset].decode())
                byte = offset
                chars[offset] = char
        out = []
        for shard, local, start in hits:
            pattern = shard.patterns[local]
            if chars is not None:
                start = chars[start]
            end = start + len(pattern)
            if (
                local in shard.left
                and start > 0
                and LATIN_CHAR.match(text[start - 1])
                and start not in joins()
            ):
                continue
            if (
                local in shard.right
                and end < size
                and LATIN_CHAR.match(text[end])
                and end not in joins()
            ):
                continue
            out.append((pattern, start, end))
        return out
