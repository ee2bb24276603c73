"""Reading an organisation's library from the database into a new ``Snapshot``.

A sync scans every reply's row version and usage count and every shop/material link of the
organisation (two light queries), reads again whole only the replies whose version or links
moved, and reads the materials (few, small). Nothing of the previous snapshot is changed.
"""

from __future__ import annotations

import sys
import time
from bisect import bisect_left
from collections.abc import Iterator

from django.db import connection
from django.db.models.expressions import RawSQL

from templates_app import rendering, search
from templates_app.library.snapshot import EMPTY, Entry, MaterialCard, Snapshot
from templates_app.models import Material, QuickReply

# Ids per query when rows are read by id (well under SQLite's limit of bound values).
CHUNK = 500

Links = dict[int, tuple[tuple[int, ...], tuple[int, ...]]]


def stamp_sql() -> str:
    """A reply row's version, as text. PostgreSQL: the writing transaction and the tuple's
    place (``xmin``, ``ctid``), which every update of the row changes, an ``UPDATE`` from a
    shell included (``xmin`` alone stays the same through several updates in one transaction).
    SQLite (the single-process embedded mode): ``updated_at``, which every save moves."""
    if connection.vendor == "postgresql":
        return "CAST(xmin AS TEXT) || '/' || CAST(ctid AS TEXT)"
    column = QuickReply._meta.get_field("updated_at").column
    return f'CAST("{column}" AS TEXT)'


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _scan(organisation_id: int) -> tuple[dict[int, str], dict[int, int], Links]:
    """Every reply's (version, usage_count) and links of the organisation. Plain SQL: this runs
    at every sync, and building 5,000 model rows or datetimes cost more than the queries."""
    meta = QuickReply._meta
    org = meta.get_field("organisation").column
    usage_col = meta.get_field("usage_count").column
    sql = (  # names from the models' metadata; the value is a parameter
        f'SELECT "{meta.pk.column}", {stamp_sql()}, "{usage_col}" '  # noqa: S608
        f'FROM "{meta.db_table}" WHERE "{org}" = %s'
    )
    parts = []
    shops, materials = QuickReply.shop_accounts.through._meta, QuickReply.materials.through._meta
    for kind, t, other_col in (
        (0, shops, shops.get_field("shopaccount").column),
        (1, materials, materials.get_field("material").column),
    ):
        reply_col = t.get_field("quickreply").column
        parts.append(
            f'SELECT {kind}, t."{reply_col}", t."{other_col}" FROM "{t.db_table}" t '  # noqa: S608
            f'INNER JOIN "{meta.db_table}" q ON q."{meta.pk.column}" = t."{reply_col}" '
            f'WHERE q."{org}" = %s'
        )
    stamps, usage = {}, {}
    pairs: dict[int, tuple[list[int], list[int]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [organisation_id])
        for reply_id, stamp, count in cursor.fetchall():
            stamps[reply_id], usage[reply_id] = stamp, count
        cursor.execute(" UNION ALL ".join(parts), [organisation_id, organisation_id])
        for kind, reply_id, other_id in cursor.fetchall():
            pairs.setdefault(reply_id, ([], []))[kind].append(other_id)
    links = {i: (tuple(sorted(s)), tuple(sorted(m))) for i, (s, m) in pairs.items()}
    return stamps, usage, links


def _load(organisation_id: int, ids: list[int] | None, links: Links) -> dict[int, Entry]:
    """Whole rows of some replies (all of the organisation's when ``ids`` is None)."""
    qs = QuickReply.objects.filter(organisation_id=organisation_id).annotate(
        stamp=RawSQL(stamp_sql(), [])  # noqa: S611 - ours, no values
    )
    replies = (
        list(qs) if ids is None else [r for chunk in _chunks(ids) for r in qs.filter(id__in=chunk)]
    )
    out = {}
    for reply in replies:
        shops, materials = links.get(reply.id, ((), ()))
        # Interned: the same word in thousands of replies is held once.
        words = tuple(sorted(sys.intern(w) for w in search.terms_for(search.index_texts(reply))))
        variables = tuple(rendering.names_in(reply.bodies.values()))
        out[reply.id] = Entry(reply, reply.stamp, words, shops, materials, variables)
    return out


def _postings(entries: dict[int, Entry]) -> dict[str, frozenset[int]]:
    sets: dict[str, set[int]] = {}
    for i, entry in entries.items():
        for w in entry.words:
            sets.setdefault(w, set()).add(i)
    return {w: frozenset(s) for w, s in sets.items()}


def _repost(
    old: Snapshot, touched: set[int], entries: dict[int, Entry]
) -> tuple[dict[str, frozenset[int]], tuple[str, ...]]:
    """The previous snapshot's index with the touched replies' words moved: only the words a
    reply lost or gained change (an edited title moves two or three of its forty)."""
    postings = dict(old.postings)
    born: set[str] = set()
    dead: set[str] = set()
    for i in touched:
        was = set(old.entries[i].words) if i in old.entries else set()
        now = set(entries[i].words) if i in entries else set()
        for w in was - now:
            left = postings[w] - {i}
            if left:
                postings[w] = left
            else:
                del postings[w]
                dead.add(w)
        for w in now - was:
            if w not in postings:
                born.add(w)
            postings[w] = postings.get(w, EMPTY) | {i}
    if not born and not dead:
        return postings, old.words
    words = list(old.words)
    for w in dead - postings.keys():
        del words[bisect_left(words, w)]
    for w in born & postings.keys():
        at = bisect_left(words, w)
        if at == len(words) or words[at] != w:
            words.insert(at, w)
    return postings, tuple(words)


def sync(organisation_id: int, old: Snapshot | None, revision: int | None) -> Snapshot:
    """The organisation's library now, built from ``old`` where it is still right."""
    stamps, usage, links = _scan(organisation_id)
    before = old.entries if old is not None else {}
    changed = [
        i
        for i, stamp in stamps.items()
        if i not in before
        or before[i].stamp != stamp
        or (before[i].shop_ids, before[i].material_ids) != links.get(i, ((), ()))
    ]
    removed = [i for i in before if i not in stamps]
    entries = {i: e for i, e in before.items() if i in stamps}
    if changed:
        loaded = _load(organisation_id, None if len(changed) == len(stamps) else changed, links)
        entries.update((i, e) for i, e in loaded.items() if i in stamps)  # not those born since
        for i in changed:
            if i not in loaded:  # deleted between the scan and the read
                entries.pop(i, None)
    usage = {i: usage[i] for i in entries}
    touched = set(changed) | set(removed)
    if old is None or len(touched) * 4 > max(len(entries), 1):
        postings = _postings(entries)
        words = tuple(sorted(postings))
    elif touched:
        postings, words = _repost(old, touched, entries)
    else:
        postings, words = old.postings, old.words
    if old is not None and usage == old.usage:  # same ids, same counts: same order
        order, keys, rank = old.order, old.keys, old.rank
    else:
        order = tuple(sorted(entries, key=lambda i: (-usage[i], -i)))
        keys = tuple((-usage[i], -i) for i in order)
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
