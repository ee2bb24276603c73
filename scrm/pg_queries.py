"""psycopg's cache of parsed statements, widened to the statements this project runs.

Django runs psycopg 3 with client-side binding: before each execution psycopg splits the SQL at
its placeholders (a regex over the whole text) to merge the quoted values in. It keeps the
split of a statement in an LRU cache, but only for statements up to 4,096 bytes and 50
parameters (``psycopg._queries``); anything longer or wider is split again at every execution.
The queue's compiled statements are both (the supervisor's two-part page, ~2.3 KB with one
padded id list of 64; the tag names and deadlines of a page, 64 ids each): splitting them was
a tenth of the served queue request's samples. Widened to 16 KB and 512 parameters: the
cache keeps its 128 entries (``lru_cache``), the hot statements are few and fixed in shape
(``scrm.compiled`` pads id lists to powers of two), and a bulk statement larger still is split
each time, as before.

Applied once per process (``ScrmConfig.ready``); a psycopg without these module constants is
left as it is. Measured in docs/performance.md ("Issue 18, fifteenth session").
"""

from __future__ import annotations

MAX_STATEMENT_BYTES = 16 * 1024
MAX_STATEMENT_PARAMS = 512


def widen_statement_cache() -> bool:
    """Raise psycopg's limits for caching a statement's split (never lower them); False when
    this psycopg has no such limits."""
    try:
        from psycopg import _queries
    except ImportError:  # pragma: no cover - SQLite-only installs still have psycopg
        return False
    if not (
        hasattr(_queries, "MAX_CACHED_STATEMENT_LENGTH")
        and hasattr(_queries, "MAX_CACHED_STATEMENT_PARAMS")
    ):
        return False
    _queries.MAX_CACHED_STATEMENT_LENGTH = max(
        _queries.MAX_CACHED_STATEMENT_LENGTH, MAX_STATEMENT_BYTES
    )
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(
        _queries.MAX_CACHED_STATEMENT_PARAMS, MAX_STATEMENT_PARAMS
    )
    return True
