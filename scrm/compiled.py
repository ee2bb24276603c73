"""Hot reads whose SQL is compiled once, then run with each call's values.

Building and compiling a queryset costs a few hundred microseconds of Python (clones, lookups,
joins, quoting), often more than the database takes to answer a small read by primary keys.
A queue request made eight of them on every page. ``read_compiled`` builds the queryset once
per *shape* (the caller's key and how many ids each list holds), compiles it with marker
values in place of the call's values, remembers where each marker landed among the SQL's
parameters, and from then on runs that SQL with the real values: the ORM's statement and
its converters (decryption, JSON), without the ORM's per-call work.

Keeps:
- the same rows as the queryset built with the real values (a test holds them equal for
  every read that uses this);
- values are integers (ids), lists of integers, or aware datetimes on PostgreSQL (a keyset
  cursor's; SQLite's adapter turns them into text); anything that changes the query's
  *structure* (which filters, a role, a sort) belongs in the key, never among the values —
  a value the compile transformed or folded away (so its marker is not a parameter) fails
  loudly at the first call, not with wrong rows;
- one cache per database connection object (Django's are per thread and per alias), so a
  converter never meets another thread's connection; at most ``MAX_STATEMENTS`` in it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

# Markers: unique within one compile, positive and inside a 32-bit integer (Django 5 folds a
# lookup on an integer column whose value is out of the column's range into "no rows").
_MARK = 2_000_000_000
_EMPTY = object()
# Time markers: aware datetimes a microsecond apart, from a date no row of ours holds.
_TIME_MARK = datetime(1001, 1, 1, tzinfo=UTC)
_SCALAR, _TIME = -1, -2
# Statements kept per connection. A person's choices (page size, statuses, how many shops) make
# new shapes; the bound keeps a stream of odd requests from growing the process.
MAX_STATEMENTS = 512

Value = int | datetime | Sequence[int]


def read_compiled(
    key: Hashable,
    build: Callable[..., QuerySet[Any]],
    *values: Value,
    using: str = "default",
) -> list[tuple[Any, ...]]:
    """The rows of ``build(*values)`` (a ``values_list`` queryset) as tuples, compiled once per
    ``key`` and per length of each list among ``values``."""
    connection = connections[using]
    shape = tuple(_shape_of(v, connection.vendor) for v in values)
    cache: dict[Hashable, Any] = connection.__dict__.setdefault("_scrm_compiled", {})
    entry = cache.get((key, shape))
    if entry is None:
        if len(cache) >= MAX_STATEMENTS:  # the oldest goes: shapes come from requests
            del cache[next(iter(cache))]
        entry = cache[(key, shape)] = _compile(build, shape, using)
    if entry is _EMPTY:
        return []
    sql, slots, compiler, converters = entry
    flat: list[Any] = []
    for v in values:
        if isinstance(v, int | datetime):
            flat.append(v)
        else:
            flat.extend(v)
    params = [flat[s] if isinstance(s, int) else s[0] for s in slots]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if converters:
        return [tuple(r) for r in compiler.apply_converters(rows, converters)]
    return rows


def _shape_of(value: Value, vendor: str) -> int:
    if isinstance(value, datetime):
        # PostgreSQL's adapter passes an aware datetime through as it is (the marker stays
        # findable among the parameters); SQLite's turns it into text.
        if vendor != "postgresql" or value.tzinfo is None:
            raise TypeError("read_compiled: aware datetimes on PostgreSQL only")
        return _TIME
    if isinstance(value, int):
        return _SCALAR
    return len(value)


def _markers(shape: tuple[int, ...]) -> tuple[list[Any], int]:
    markers: list[Any] = []
    n = 0
    for length in shape:
        if length == _TIME:
            markers.append(_TIME_MARK + timedelta(microseconds=n))
            n += 1
        elif length == _SCALAR:
            markers.append(_MARK + n)
            n += 1
        else:
            markers.append([_MARK + n + i for i in range(length)])
            n += length
    return markers, n


def _compiles_empty(
    build: Callable[..., QuerySet[Any]], shape: tuple[int, ...], using: str
) -> bool:
    try:
        build(*_markers(shape)[0]).query.get_compiler(using=using).as_sql()
    except EmptyResultSet:
        return True
    return False


def _compile(build: Callable[..., QuerySet[Any]], shape: tuple[int, ...], using: str) -> Any:
    """(SQL, for each parameter its value's index or (constant,), the compiler, its
    converters), or ``_EMPTY`` when the query can match nothing (an empty id list)."""
    markers, n = _markers(shape)
    qs = build(*markers)
    query = qs.query
    # As ValuesListIterable checks: columns the SELECT puts in another order than asked
    # (annotations mixed with fields) would need its reordering; not supported here.
    wanted: tuple[str, ...] = getattr(qs, "_fields", None) or ()
    names = [*query.extra_select, *query.values_select, *query.annotation_select]
    asked = [*wanted, *(f for f in query.annotation_select if f not in wanted)]
    if not wanted or asked != names:
        raise ValueError("read_compiled: a values_list() of fields in their SELECT order only")
    compiler = query.get_compiler(using=using)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        # Only an empty id list may make a query that matches nothing; if the same query with
        # those lists holding one marker is still empty, a marker did it (out of its column's
        # range): refuse rather than answer "no rows" for every call of this shape.
        probe = tuple(1 if length == 0 else length for length in shape)
        if probe == shape or _compiles_empty(build, probe, using):
            raise ValueError("read_compiled: a value emptied the query; key it instead") from None
        return _EMPTY
    slots: list[int | tuple[Any]] = []
    seen = set()
    last_time = _TIME_MARK + timedelta(microseconds=n)
    for p in params:
        if type(p) is int and _MARK <= p < _MARK + n:
            slots.append(p - _MARK)
            seen.add(p - _MARK)
        elif isinstance(p, datetime) and p.tzinfo is not None and _TIME_MARK <= p < last_time:
            index = (p - _TIME_MARK) // timedelta(microseconds=1)
            slots.append(index)
            seen.add(index)
        else:
            slots.append((p,))
    if len(seen) != n:
        raise ValueError("read_compiled: a value shaped the query; put what varies it in the key")
    fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
    return sql, slots, compiler, compiler.get_converters(fields)
