"""Each organisation's quick-reply library, held in memory by every process, for the picker and
the render.

Why memory: the picker asks on every keystroke and must answer within a few milliseconds with
5,000 templates. In PostgreSQL the best plan for a word found in an eighth of them still reads
400-650 rows (3-6 ms of execution, plus 0.5-0.9 ms of planning per statement, measured in
``bench/bench_templates.py``); in memory the same answer is a few set lookups.

Freshness, the invariant: a call never serves content older than the committed state its
database shows, except usage counts and writes that bypass the services, which are at most
``SCRM_QUICK_REPLY_SYNC_SECONDS`` (30 s) late.

* The services call ``changed(organisation_id)`` in their transaction: a new random
  ``LibraryRevision``. Every call first reads that revision (in one round trip with the
  agent's shops) and syncs when it differs from the one its copy was built under. The revision
  is read before the rows, so a copy is never labelled newer than what it holds; a rolled-back
  change's revision is seen by no other transaction and, being random, never comes back.
* A sync is incremental: one light scan of (id, updated_at, usage_count) of the organisation's
  quick replies; only rows whose ``updated_at`` moved are read whole, with their shops and
  materials. Materials (few, small) are read whole.
* The scan also runs when the copy is older than the sync interval: usage counts change on
  every send without a new revision (one per send would make every process re-scan after every
  send), and an edit outside the services (a shell, SQL) has none.
* A published ``Snapshot`` is never changed: a sync builds the next one and swaps one
  reference, so readers in other threads need no lock. Callers get copies of its replies.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from inbox.models import Member
from inbox.selectors import member_shop_ids_sql
from templates_app import search
from templates_app.models import LibraryRevision, Material, QuickReply, Scope

EMPTY: frozenset[int] = frozenset()
# Past every character a word can hold: [term, term + LAST) is the range of words it begins.
LAST = chr(0x10FFFF)
# Ids per query when rows are read by id (SQLite's default limit of bound values is far above).
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Entry:
    """One quick reply as loaded: never handed out (``View.reply`` gives copies)."""

    reply: QuickReply
    stamp: str  # its updated_at as the database spells it: a different one means reload it
    words: tuple[str, ...]  # sorted
    shop_ids: tuple[int, ...]
    material_ids: tuple[int, ...]


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
    order: list[int]  # ids, most used first, then newest
    keys: list[tuple[int, int]]  # (-usage, -id) of ``order``: where a cursor resumes
    rank: dict[int, int]  # id -> position in ``order``
    words: list[str]  # every indexed word, sorted
    postings: dict[str, frozenset[int]]  # word -> ids of the replies that hold it
    materials: dict[int, MaterialCard]


@dataclass(frozen=True, slots=True)
class Query:
    terms: list[tuple[str, bool]]  # search.query_terms
    category: str = ""
    scope: str = ""
    include_archived: bool = False
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

    def reply(self, entry: Entry) -> QuickReply:
        """A copy of the reply for the caller, with its current usage count."""
        out = copy.copy(entry.reply)
        out.usage_count = self.snapshot.usage.get(entry.reply.id, 0)
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
            if reply.is_archived and not query.include_archived:
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
        held, total = [], 0
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


# --- loading and syncing ---------------------------------------------------------------------


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _links(organisation_id: int, ids: list[int] | None) -> dict[int, tuple[list[int], list[int]]]:
    out: dict[int, tuple[list[int], list[int]]] = {}
    for kind, through, other in (
        (0, QuickReply.shop_accounts.through, "shopaccount_id"),
        (1, QuickReply.materials.through, "material_id"),
    ):
        qs = through.objects.order_by(other)
        batches = (
            [qs.filter(quickreply__organisation_id=organisation_id)]
            if ids is None
            else [qs.filter(quickreply_id__in=chunk) for chunk in _chunks(ids)]
        )
        for batch in batches:
            for reply_id, other_id in batch.values_list("quickreply_id", other):
                out.setdefault(reply_id, ([], []))[kind].append(other_id)
    return out


def _load(organisation_id: int, ids: list[int] | None) -> dict[int, Entry]:
    """Whole rows of some replies (all of the organisation's when ``ids`` is None)."""
    qs = QuickReply.objects.filter(organisation_id=organisation_id).annotate(
        stamp=Cast("updated_at", TextField())
    )
    replies = (
        list(qs) if ids is None else [r for chunk in _chunks(ids) for r in qs.filter(id__in=chunk)]
    )
    links = _links(organisation_id, ids)
    out = {}
    for reply in replies:
        shops, materials = links.get(reply.id, ([], []))
        words = tuple(sorted(search.terms_for(search.index_texts(reply))))
        stamp = reply.stamp
        out[reply.id] = Entry(reply, stamp, words, tuple(shops), tuple(materials))
    return out


def _postings(entries: dict[int, Entry]) -> dict[str, frozenset[int]]:
    sets: dict[str, set[int]] = {}
    for i, entry in entries.items():
        for w in entry.words:
            sets.setdefault(w, set()).add(i)
    return {w: frozenset(s) for w, s in sets.items()}


def _repost(
    old: Snapshot, touched: set[int], entries: dict[int, Entry]
) -> tuple[dict[str, frozenset[int]], list[str]]:
    """The previous snapshot's index with the touched replies' words moved: only the words a
    reply lost or gained change (an edited title moves two or three of its forty), and nothing
    of ``old`` is changed (readers of the previous snapshot may be walking it)."""
    postings, words = dict(old.postings), old.words
    born, dead = [], []
    for i in touched:
        was = set(old.entries[i].words) if i in old.entries else set()
        now = set(entries[i].words) if i in entries else set()
        for w in was - now:
            left = postings[w] - {i}
            if left:
                postings[w] = left
            else:
                del postings[w]
                dead.append(w)
        for w in now - was:
            if w not in postings:
                born.append(w)
            postings[w] = postings.get(w, EMPTY) | {i}
    if born or dead:
        words = list(words)
        for w in set(dead) - set(postings):
            del words[bisect_left(words, w)]
        for w in set(born) & set(postings):
            if (at := bisect_left(words, w)) == len(words) or words[at] != w:
                words.insert(at, w)
    return postings, words


def _scan(organisation_id: int) -> tuple[dict[int, str], dict[int, int]]:
    """Every reply's (updated_at, usage_count) of the organisation. Plain SQL, the stamp as
    text: this runs on every sync, and building 5,000 datetimes cost more than the query."""
    meta = QuickReply._meta
    col = {
        "organisation": meta.get_field("organisation").column,
        "updated_at": meta.get_field("updated_at").column,
        "usage_count": meta.get_field("usage_count").column,
    }
    sql = (  # names from the model's metadata; the value is a parameter
        f'SELECT "{meta.pk.column}", CAST("{col["updated_at"]}" AS TEXT), "{col["usage_count"]}" '  # noqa: S608
        f'FROM "{meta.db_table}" WHERE "{col["organisation"]}" = %s'
    )
    stamps, usage = {}, {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [organisation_id])
        for reply_id, stamp, count in cursor.fetchall():
            stamps[reply_id], usage[reply_id] = stamp, count
    return stamps, usage


def _sync(organisation_id: int, old: Snapshot | None, revision: int | None) -> Snapshot:
    stamps, usage = _scan(organisation_id)
    before = old.entries if old is not None else {}
    changed = [i for i, st in stamps.items() if i not in before or before[i].stamp != st]
    removed = [i for i in before if i not in stamps]
    entries = {i: e for i, e in before.items() if i in stamps}
    if changed:
        loaded = _load(organisation_id, None if len(changed) == len(stamps) else changed)
        entries.update((i, e) for i, e in loaded.items() if i in stamps)  # not those born since
        for i in changed:
            if i not in loaded:  # deleted between the scan and the read
                entries.pop(i, None)
    usage = {i: usage[i] for i in entries}
    touched = set(changed) | set(removed)
    if old is None or len(touched) * 4 > max(len(entries), 1):
        postings = _postings(entries)
        words = sorted(postings)
    elif touched:
        postings, words = _repost(old, touched, entries)
    else:
        postings, words = old.postings, old.words
    if old is not None and usage == old.usage:  # same ids, same counts: same order
        order, keys, rank = old.order, old.keys, old.rank
    else:
        order = sorted(entries, key=lambda i: (-usage[i], -i))
        keys = [(-usage[i], -i) for i in order]
        rank = {i: n for n, i in enumerate(order)}
    materials = {
        m_id: MaterialCard(m_id, kind, name, archived)
        for m_id, kind, name, archived in Material.objects.filter(
            organisation_id=organisation_id
        ).values_list("id", "kind", "name", "is_archived")
    }
    return Snapshot(
        revision, time.monotonic(), entries, usage, order, keys, rank, words, postings, materials
    )


class Library:
    """One organisation's library in this process: its latest snapshot and the lock that keeps
    two threads from syncing it at once."""

    def __init__(self, organisation_id: int) -> None:
        self.organisation_id = organisation_id
        self.snapshot: Snapshot | None = None
        self.lock = threading.Lock()

    def _fresh(self, snap: Snapshot | None, revision: int | None) -> bool:
        return (
            snap is not None
            and snap.revision == revision
            and time.monotonic() - snap.synced_at < settings.SCRM_QUICK_REPLY_SYNC_SECONDS
        )

    def current(self, revision: int | None) -> Snapshot:
        snap = self.snapshot
        if snap is not None and self._fresh(snap, revision):
            return snap
        with self.lock:
            snap = self.snapshot
            if snap is not None and self._fresh(snap, revision):
                return snap  # another thread synced it while this one waited
            snap = self.snapshot = _sync(self.organisation_id, snap, revision)
        _evict()
        return snap


_libraries: OrderedDict[int, Library] = OrderedDict()
_registry_lock = threading.Lock()


def _library(organisation_id: int) -> Library:
    with _registry_lock:
        library = _libraries.get(organisation_id)
        if library is None:
            library = _libraries[organisation_id] = Library(organisation_id)
        _libraries.move_to_end(organisation_id)
        return library


def _evict() -> None:
    """Drop the least recently used libraries while this process holds more replies than
    ``SCRM_QUICK_REPLY_CACHE_ENTRIES`` (the one used last always stays)."""
    with _registry_lock:
        sizes = {
            o: len(lib.snapshot.entries) if lib.snapshot else 0 for o, lib in _libraries.items()
        }
        total = sum(sizes.values())
        while total > settings.SCRM_QUICK_REPLY_CACHE_ENTRIES and len(_libraries) > 1:
            organisation_id, _ = _libraries.popitem(last=False)
            total -= sizes[organisation_id]


def _revision_and_shops(member: Member) -> tuple[int | None, frozenset[int] | None]:
    """The organisation's library revision and, for an agent, the shops they work on, in one
    round trip (plain SQL: this runs on every keystroke of the picker)."""
    meta = LibraryRevision._meta
    revision_col = meta.get_field("revision").column
    org_col = meta.get_field("organisation").column
    sql = f'SELECT 0, "{revision_col}" FROM "{meta.db_table}" WHERE "{org_col}" = %s'  # noqa: S608
    params: list[Any] = [member.organisation_id]
    if not member.sees_all_shops:
        shops_sql, shop_params = member_shop_ids_sql(member)
        sql = f"{sql} UNION ALL SELECT 1, q.* FROM ({shops_sql}) q"  # noqa: S608 - ours
        params += shop_params
    revision, shops = None, []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, value in cursor.fetchall():
            if kind == 0:
                revision = value
            else:
                shops.append(value)
    return revision, None if member.sees_all_shops else frozenset(shops)


def view_for(member: Member) -> View:
    """The member's view of their organisation's library, current as of this call."""
    revision, shops = _revision_and_shops(member)
    snapshot = _library(member.organisation_id).current(revision)
    return View(snapshot, member.user_id, shops)


def changed(organisation_id: int) -> None:
    """Mark the organisation's library changed (call in the transaction that changes it): every
    process re-syncs its copy on its next call once this commits."""
    LibraryRevision.objects.bulk_create(
        [LibraryRevision(organisation_id=organisation_id, revision=secrets.randbits(62))],
        update_conflicts=True,
        unique_fields=["organisation"],
        update_fields=["revision"],
    )


def clear() -> None:
    """Forget every library held by this process (tests; a process starts with none)."""
    with _registry_lock:
        _libraries.clear()


def held() -> dict[int, int]:
    """Organisation id -> replies held, least recently used first (for tests and operators)."""
    with _registry_lock:
        return {
            o: len(lib.snapshot.entries) if lib.snapshot else 0 for o, lib in _libraries.items()
        }
