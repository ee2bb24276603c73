"""``manage.py rotate_keys``: encryption keys (every ciphertext rewritten under the newest key,
bound to its row) and blind-index keys (every organisation's indexes recomputed under the
current index master). docs/customer-data.md, "Keys and rotation"."""

from __future__ import annotations

from collections.abc import Callable

from inbox.models import KeyRotation
from inbox.services.key_rotation.check import KeyCheck, key_check
from inbox.services.key_rotation.encryption import (
    DEFAULT_BATCH,
    KIND,
    SealedTable,
    TableProgress,
    rotate_table,
    sealed_tables,
)
from inbox.services.key_rotation.index import IndexProgress, rotate_indexes
from scrm.crypto import KeyRing

__all__ = [
    "DEFAULT_BATCH",
    "IndexProgress",
    "KeyCheck",
    "SealedTable",
    "TableProgress",
    "key_check",
    "rotate_encryption",
    "rotate_indexes",
    "sealed_tables",
]


def rotate_encryption(
    ring: KeyRing,
    *,
    batch: int = DEFAULT_BATCH,
    only: str | None = None,
    limit: int | None = None,
    on_batch: Callable[[TableProgress], None] | None = None,
) -> list[TableProgress]:
    """Rewrite every encrypted value not yet ``v2`` under ``ring``'s primary key, table by
    table. Resumes an interrupted run where it stopped; once a run has finished every table, the
    next one walks them all again (rows written since by a migration, or by a writer that saved
    a value it had read before the rewrite). ``limit``: rows to read in this run at most."""
    tables = sealed_tables(only)
    finished = set(
        KeyRotation.objects.filter(
            kind=KIND, target_kid=ring.primary_kid, finished_at__isnull=False
        ).values_list("table", flat=True)
    )
    again = all(t.table in finished for t in tables)
    out = []
    left = limit
    for table in tables:
        if left is not None and left <= 0:
            break
        progress = rotate_table(
            table, ring, batch=batch, limit=left, on_batch=on_batch, again=again
        )
        out.append(progress)
        if left is not None:
            left -= progress.read
    return out
