"""Each organisation's quick-reply library, held in memory by every process, for the picker and
the render.

Why memory: the picker asks on every keystroke and must answer within a few milliseconds with
5,000 templates. In PostgreSQL the best plan for a word found in an eighth of them still reads
400-650 rows (3-6 ms of execution, plus 0.5-0.9 ms of planning per statement, measured with
``bench/bench_templates.py``); in memory the same answer is a few set lookups.

Freshness, the invariants:

* A change through the app is served at once. The services (and the admin) call
  ``changed(organisation_id)`` in their transaction: a new random ``LibraryRevision``. Every
  call first reads that revision (in one round trip with the agent's shops) and syncs when it
  differs from the one its copy was built under. The revision is read before the rows, so a
  copy is never labelled newer than what it holds; a rolled-back change's revision is seen by
  no other transaction and, being random, never comes back. An organisation without a
  revision row (nothing changed through the app yet) is synced on every call.
* Anything else is served at most ``SCRM_QUICK_REPLY_SYNC_SECONDS`` (30 s) late: usage counts,
  which change on every send without a new revision (one per send would make every process
  re-read after every send), and writes outside the app. A sync compares every reply's row
  version (``xmin`` and ``ctid`` on PostgreSQL; ``updated_at`` on SQLite, where an ``UPDATE``
  that does not move it is not seen until the row is next saved) and every
  shop/material link.
* Shop membership and roles are not held here: they are read on every call.
* A published snapshot is never changed (``snapshot.py``); callers get copies of replies.
* A process holds at most ``SCRM_QUICK_REPLY_CACHE_ENTRIES`` replies over all organisations,
  dropping the least recently used libraries first.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.db import connection

from inbox.selectors.for_apps import ActingMember, shop_ids_subquery
from templates_app.library.snapshot import Entry, MaterialCard, Query, Snapshot, View
from templates_app.library.sync import sync
from templates_app.models import LibraryRevision

__all__ = [
    "Entry",
    "MaterialCard",
    "Query",
    "Snapshot",
    "View",
    "changed",
    "clear",
    "held",
    "snapshot_of",
    "view_for",
]


class Library:
    """One organisation's library in this process: its latest snapshot and the lock that keeps
    two threads from syncing it at once."""

    def __init__(self, organisation_id: int) -> None:
        self.organisation_id = organisation_id
        self.snapshot: Snapshot | None = None
        self.lock = threading.Lock()

    @staticmethod
    def _fresh(snap: Snapshot | None, revision: int | None) -> bool:
        return (
            snap is not None
            and revision is not None
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
            snap = self.snapshot = sync(self.organisation_id, snap, revision)
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


def _size(library: Library) -> int:
    return len(library.snapshot.entries) if library.snapshot else 0


def _evict() -> None:
    """Drop the least recently used libraries while this process holds more replies than
    ``SCRM_QUICK_REPLY_CACHE_ENTRIES`` (the one used last always stays)."""
    with _registry_lock:
        total = sum(_size(lib) for lib in _libraries.values())
        while total > settings.SCRM_QUICK_REPLY_CACHE_ENTRIES and len(_libraries) > 1:
            _, dropped = _libraries.popitem(last=False)
            total -= _size(dropped)


def _revision_and_shops(member: ActingMember) -> tuple[int | None, frozenset[int] | None]:
    """The organisation's library revision and, for an agent, the shops they work on, in one
    round trip (plain SQL: this runs on every keystroke of the picker)."""
    meta = LibraryRevision._meta
    revision_col = meta.get_field("revision").column
    org_col = meta.get_field("organisation").column
    sql = f'SELECT 0, "{revision_col}" FROM "{meta.db_table}" WHERE "{org_col}" = %s'  # noqa: S608
    params: list[Any] = [member.organisation_id]
    if not member.sees_all_shops:
        shops_sql, shop_params = shop_ids_subquery(member)
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


def view_for(member: ActingMember) -> View:
    """The member's view of their organisation's library, current as of this call."""
    revision, shops = _revision_and_shops(member)
    snapshot = _library(member.organisation_id).current(revision)
    return View(snapshot, member.user_id, shops)


def changed(organisation_id: int) -> None:
    """Mark the organisation's library changed (call in the transaction that changes it): every
    process syncs its copy on its next call once this commits."""
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
        return {o: _size(lib) for o, lib in _libraries.items()}


def snapshot_of(organisation_id: int) -> Snapshot | None:
    """The snapshot this process holds for an organisation, if any (for tests)."""
    with _registry_lock:
        library = _libraries.get(organisation_id)
    return library.snapshot if library else None
