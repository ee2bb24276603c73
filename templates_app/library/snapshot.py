"""One organisation's library as held in memory, and the picker's search over it.

A ``Snapshot`` is never changed once built (``sync`` builds the next one), so readers in any
thread use one without a lock; ``View.reply`` hands out copies, never the held replies.
"""

from __future__ import annotations

import copy
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from templates_app.models import QuickReply, Scope

EMPTY: frozenset[int] = frozenset()
# Past every character a word can hold: [term, term + LAST) is the range of words it begins.
LAST = chr(0x10FFFF)


@dataclass(frozen=True, slots=True)
class Entry:
    """One quick reply as loaded."""

    reply: QuickReply
    stamp: str  # its row version as the database spells it (see sync.stamp_sql)
    words: tuple[str, ...]  # sorted, interned
    shop_ids: tuple[int, ...]
    material_ids: tuple[int, ...]
    variables: tuple[str, ...]  # names in its bodies, in order of first use


@dataclass(frozen=True, slots=True)
class MaterialCard:
    id: int
    kind: str
    name: str
    is_archived: bool

    @property
    def attachment(self) -> dict[str, object]:
        message_type = "IMAGE" if self.kind == "image" else "LINK"
        return {"id": self.id, "kind": self.kind, "name": self.name, "message_type": message_type}


@dataclass(frozen=True, slots=True)
class Snapshot:
    revision: int | None
    synced_at: float  # time.monotonic()
    entries: dict[int, Entry]
    usage: dict[int, int]
    order: tuple[int, ...]  # ids, most used first, then newest
    keys: tuple[tuple[int, int], ...]  # (-usage, -id) of ``order``: where a cursor resumes
    rank: dict[int, int]  # id -> position in ``order``
    words: tuple[str, ...]  # every indexed word, sorted
    postings: dict[str, frozenset[int]]  # word -> ids of the replies that hold it
    materials: dict[int, MaterialCard]


@dataclass(frozen=True, slots=True)
class Query:
    terms: list[tuple[str, bool]]  # search.query_terms
    category: str = ""
    scope: str = ""
    include_archived: bool = False
    archived_only: bool = False  # the management page's "Archived" filter
    language: str = ""  # only replies with a version in this language
    after: tuple[int, int] | None = None  # (usage_count, id) of the last row already shown
    limit: int = 50


class View:
    """What one member sees of their organisation's library now."""

    def __init__(self, snapshot: Snapshot, user_id: int, shop_ids: frozenset[int] | None):
        self.snapshot = snapshot
        self.user_id = user_id
        self.shop_ids = shop_ids  # None: every shop of the organisation (supervisors, admins)

    def visible(self, entry: Entry) -> bool:
        scope = entry.reply.scope
        if scope == Scope.ORGANISATION:
            return True
        if scope == Scope.PERSONAL:
            return entry.reply.owner_id == self.user_id
        return self.shop_ids is None or not self.shop_ids.isdisjoint(entry.shop_ids)

    def get(self, quick_reply_id: int) -> Entry | None:
        entry = self.snapshot.entries.get(quick_reply_id)
        return entry if entry is not None and self.visible(entry) else None

    def usage_of(self, entry: Entry) -> int:
        return self.snapshot.usage.get(entry.reply.id, 0)

    def reply(self, entry: Entry) -> QuickReply:
        """The caller's own copy of the reply (its JSON fields too), with its usage count."""
        out = copy.copy(entry.reply)
        out.translations = copy.deepcopy(entry.reply.translations)
        out.custom_fields = copy.deepcopy(entry.reply.custom_fields)
        out.usage_count = self.usage_of(entry)
        return out

    def find(self, query: Query) -> tuple[list[Entry], bool]:
        """Visible replies with every term, most used first: up to ``limit`` after the cursor,
        and whether more follow."""
        snap = self.snapshot
        sets, wide = _term_sets(snap, query.terms)
        start = 0
        if query.after is not None:
            usage, last_id = query.after
            start = bisect_right(snap.keys, (-usage, -last_id))  # just past that row
        ids: Iterable[int]
        if sets:
            sets.sort(key=len)
            candidates = set(sets[0]).intersection(*sets[1:])
            if len(candidates) * 8 < len(snap.order):  # few: sort them rather than walk all
                rank = snap.rank
                ids = sorted((i for i in candidates if rank[i] >= start), key=rank.__getitem__)
            else:
                ids = (i for i in islice(snap.order, start, None) if i in candidates)
        else:
            ids = islice(snap.order, start, None)
        found = list(islice(self._matching(ids, query, wide), query.limit + 1))
        return found[: query.limit], len(found) > query.limit

    def _matching(self, ids: Iterable[int], query: Query, wide: list[str]) -> Iterator[Entry]:
        entries = self.snapshot.entries
        for i in ids:
            entry = entries[i]
            reply = entry.reply
            if reply.is_archived and not (query.include_archived or query.archived_only):
                continue
            if query.archived_only and not reply.is_archived:
                continue
            if query.language and not (
                reply.default_language == query.language
                or query.language in (reply.translations or {})
            ):
                continue
            if (query.category and reply.category != query.category) or (
                query.scope and reply.scope != query.scope
            ):
                continue
            if not self.visible(entry):
                continue
            if wide and not all(_begins(entry.words, t) for t in wide):
                continue
            yield entry


def _begins(words: tuple[str, ...], prefix: str) -> bool:
    """Whether one of the (sorted) words begins with ``prefix``."""
    i = bisect_left(words, prefix)
    return i < len(words) and words[i].startswith(prefix)


def _term_sets(
    snap: Snapshot, terms: list[tuple[str, bool]]
) -> tuple[list[frozenset[int]], list[str]]:
    """Per term, the ids that hold it. A prefix held by more than half the library ("s") comes
    back in ``wide`` instead: joining its words' id sets would cost more than checking the
    rows a page walks, most of which hold it."""
    sets: list[frozenset[int]] = []
    wide: list[str] = []
    dense = len(snap.entries) // 2
    for term, is_prefix in terms:
        if not is_prefix:
            sets.append(snap.postings.get(term, EMPTY))
            continue
        lo = bisect_left(snap.words, term)
        hi = bisect_left(snap.words, term + LAST, lo)
        held: list[frozenset[int]] = []
        total = 0
        for w in islice(snap.words, lo, hi):
            ids = snap.postings[w]
            held.append(ids)
            total += len(ids)
            if total > dense:
                wide.append(term)
                break
        else:
            sets.append(EMPTY.union(*held))
    return sets, wide
