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
- values are integers (ids), strings (a platform's ids, compared whole), lists of either, or
  aware datetimes on PostgreSQL (a keyset cursor's; SQLite's adapter turns them into text);
  anything that changes the query's
  *structure* (which filters, a role, a sort) belongs in the key, never among the values —
  a value the compile transformed or folded away (so its marker is not a parameter) fails
  loudly at the first call, not with wrong rows;
- one cache for the process (under ASGI every request runs in a thread of its own, with a
  connection object of its own: a cache per connection was empty at every request), keyed by
  database alias and vendor, at most ``MAX_STATEMENTS`` statements, the least recently used
  going first; the converters are resolved for, and called with, the calling thread's
  connection.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ValuesListIterable

# Markers: positive, inside a 32-bit integer (Django 5 folds a lookup on an integer column
# whose value is out of its range into "no rows") and 1,000 apart, so a value a build shifted
# a little lands between markers and is refused instead of taken for its neighbour.
_MARK, _STEP = 2_000_000_000, 1_000
# Time markers: aware datetimes a second apart, from a date no row of ours holds.
_TIME_MARK = datetime(1001, 1, 1, tzinfo=UTC)
_TIME_STEP = timedelta(seconds=1)
# Text markers: a prefix no value of ours starts with, then the marker's number. A build that
# wraps, escapes or changes the text (a ``contains`` lookup's %…%, LIKE's escaping of its
# ``_``, ``%`` and ``\``, which the prefix holds, a lower-casing) leaves no marker among the
# parameters and is refused.
_TEXT_MARK = "\x1escrm_%\\marker:"
_SCALAR, _TIME, _TEXT = -1, -2, -3
# A list's shape is its length; a list of strings' is ``_TEXT_LIST - length`` (a string's
# marker is text, an integer's a number: the two kinds of list compile apart).
_TEXT_LIST = -10
# Statements kept for the process. A person's choices (page size, statuses, how many shops)
# make new shapes; the bound keeps a stream of odd requests from growing the process.
MAX_STATEMENTS = 512

Value = int | str | datetime | Sequence[int] | Sequence[str]
M = TypeVar("M", bound=Model)
P = TypeVar("P", int, str)


@dataclass(frozen=True)
class _Statement:
    sql: str
    slots: tuple[int | tuple[Any], ...]  # each parameter: its value's index, or (constant,)
    fields: tuple[Any, ...]  # the SELECT's expressions, for their converters
    width: int  # the columns the caller asked for (a SELECT may carry more)


_EMPTY = _Statement("", (), (), 0)
_cache: OrderedDict[Hashable, _Statement] = OrderedDict()
_lock = threading.Lock()


def read_compiled(
    key: Hashable,
    build: Callable[..., QuerySet[Any]],
    *values: Value,
    using: str = "default",
) -> list[tuple[Any, ...]]:
    """The rows of ``build(*values)`` (a plain ``values_list`` queryset) as tuples, compiled
    once per ``key`` and per length of each list among ``values``."""
    connection = connections[using]
    shape = tuple(_shape_of(v, connection.vendor) for v in values)
    full_key = (using, connection.vendor, key, shape)
    with _lock:
        statement = _cache.get(full_key)
        if statement is not None:
            _cache.move_to_end(full_key)
    if statement is None:
        statement = _compile(build, shape, using)  # outside the lock: another may compile too
        with _lock:
            _cache[full_key] = statement
            while len(_cache) > MAX_STATEMENTS:
                _cache.popitem(last=False)
    if statement is _EMPTY:
        return []
    flat: list[Any] = []
    for v in values:
        if isinstance(v, int | str | datetime):
            flat.append(v)
        else:
            flat.extend(v)
    params = [flat[s] if isinstance(s, int) else s[0] for s in statement.slots]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        rows = cursor.fetchall()
    converters = _converters(statement, connection)
    width = statement.width
    if not converters:
        return [tuple(r[:width]) for r in rows] if rows and len(rows[0]) != width else rows
    out = []
    for row in rows:
        values_ = list(row[:width])
        for pos, (convs, expression) in converters:
            value = values_[pos]
            for convert in convs:
                value = convert(value, expression, connection)
            values_[pos] = value
        out.append(tuple(values_))
    return out


def padded_text(values: Sequence[str], pad: str = "") -> list[str]:
    """``values`` for an ``IN`` list of text, padded with ``pad`` (a value no row is looked up
    by: ``""`` for the platform's ids) to the next power of two, as ``padded``."""
    return _padded(values, pad)


def padded(ids: Sequence[int]) -> list[int]:
    """``ids`` for an ``IN`` list, padded with -1 (no row's id) to the next power of two: a
    page's 1-200 ids then make 9 statements, not 200 (nor, for two lists, 40,000)."""
    return _padded(ids, -1)


def _padded(values: Sequence[P], pad: P) -> list[P]:
    out = list(values)
    if out:
        out += [pad] * ((1 << (len(out) - 1).bit_length()) - len(out))
    return out


def _converters(statement: _Statement, connection: Any) -> list[tuple[int, tuple[list, Any]]]:
    """The statement's column converters for this connection (backend's, then field's, as
    ``SQLCompiler.get_converters``), remembered on the connection object."""
    known: dict[int, Any] = connection.__dict__.setdefault("_scrm_converters", {})
    found = known.get(id(statement))
    if found is None or found[0] is not statement:
        converters = []
        for i, expression in enumerate(statement.fields[: statement.width]):
            if expression:
                backend = connection.ops.get_db_converters(expression)
                field = expression.get_db_converters(connection)
                if backend or field:
                    converters.append((i, (backend + field, expression)))
        if len(known) > MAX_STATEMENTS:
            known.clear()
        found = known[id(statement)] = (statement, converters)
    return found[1]


def _shape_of(value: Value, vendor: str) -> int:
    if isinstance(value, datetime):
        # PostgreSQL's adapter passes an aware datetime through as it is (the marker stays
        # findable among the parameters); SQLite's turns it into text.
        if vendor != "postgresql" or value.tzinfo is None:
            raise TypeError("read_compiled: aware datetimes on PostgreSQL only")
        return _TIME
    if isinstance(value, int):
        return _SCALAR
    if isinstance(value, str):
        return _TEXT
    if value and all(isinstance(v, str) for v in value):
        return _TEXT_LIST - len(value)
    return len(value)


def _markers(shape: tuple[int, ...]) -> tuple[list[Any], int]:
    markers: list[Any] = []
    n = 0
    for length in shape:
        if length == _TIME:
            markers.append(_TIME_MARK + n * _TIME_STEP)
            n += 1
        elif length == _SCALAR:
            markers.append(_MARK + n * _STEP)
            n += 1
        elif length == _TEXT:
            markers.append(f"{_TEXT_MARK}{n}")
            n += 1
        elif length <= _TEXT_LIST:
            count = _TEXT_LIST - length
            markers.append([f"{_TEXT_MARK}{n + i}" for i in range(count)])
            n += count
        else:
            markers.append([_MARK + (n + i) * _STEP for i in range(length)])
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


def _marker_index(p: Any, n: int) -> int | None:
    """Which marker ``p`` is (None: not one); ValueError for a value inside the markers' range
    that is none of them (a build changed a value instead of passing it on)."""
    if isinstance(p, str):
        if not p.startswith(_TEXT_MARK):
            return None
        number = p[len(_TEXT_MARK) :]
        if not number.isdigit() or int(number) >= n:
            raise ValueError("read_compiled: a value was changed in the build; pass it as it is")
        return int(number)
    if type(p) is int and _MARK <= p < _MARK + n * _STEP:
        index, rest = divmod(p - _MARK, _STEP)
    elif isinstance(p, datetime) and p.tzinfo is not None and p >= _TIME_MARK:
        if p >= _TIME_MARK + n * _TIME_STEP:
            return None
        index, off = divmod(p - _TIME_MARK, _TIME_STEP)
        rest = off // timedelta(microseconds=1)
    else:
        return None
    if rest:
        raise ValueError("read_compiled: a value was changed in the build; pass it as it is")
    return int(index)


def _compile(build: Callable[..., QuerySet[Any]], shape: tuple[int, ...], using: str) -> Any:
    """The statement, or ``_EMPTY`` when the query can match nothing (an empty id list)."""
    markers, n = _markers(shape)
    qs = build(*markers)
    query = qs.query
    # As ValuesListIterable checks: columns the SELECT puts in another order than asked
    # (annotations mixed with fields) would need its reordering; not supported here, nor
    # flat or named rows.
    wanted: tuple[str, ...] = getattr(qs, "_fields", None) or ()
    names = [*query.extra_select, *query.values_select, *query.annotation_select]
    asked = [*wanted, *(f for f in query.annotation_select if f not in wanted)]
    plain = getattr(qs, "_iterable_class", None) is ValuesListIterable
    if not wanted or asked != names or not plain:
        raise ValueError("read_compiled: a plain values_list() of fields in SELECT order only")
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
    for p in params:
        index = _marker_index(p, n)
        if index is None:
            slots.append((p,))
        else:
            slots.append(index)
            seen.add(index)
    if len(seen) != n:
        raise ValueError("read_compiled: a value shaped the query; put what varies it in the key")
    fields = tuple(s[0] for s in compiler.select)
    return _Statement(sql, tuple(slots), fields, compiler.col_count)


@dataclass(frozen=True)
class _Layout:
    names: tuple[str, ...]  # the model's attnames, in its concrete fields' order
    related: tuple[tuple[Any, Any, tuple[str, ...], int], ...]  # field, model, names, pk's place
    columns: tuple[str, ...]  # what the values_list asks for


_layouts: dict[tuple[type[Model], tuple[str, ...]], _Layout] = {}


def _layout(model: type[Model], related: tuple[str, ...]) -> _Layout:
    found = _layouts.get((model, related))
    if found is not None:
        return found
    names = tuple(f.attname for f in model._meta.concrete_fields)
    columns = list(names)
    parts = []
    for name in related:
        field = model._meta.get_field(name)
        other: Any = field.related_model
        if not (field.many_to_one or field.one_to_one) or not isinstance(other, type):
            raise ValueError(f"instances_compiled: {name} is not a foreign key of its model")
        other = cast("type[Model]", other)
        other_names = tuple(f.attname for f in other._meta.concrete_fields)
        parts.append((field, other, other_names, other_names.index(other._meta.pk.attname)))
        columns += [f"{name}__{attname}" for attname in other_names]
    found = _layouts[(model, related)] = _Layout(names, tuple(parts), tuple(columns))
    return found


def instances_compiled(
    key: Hashable,
    model: type[M],
    build: Callable[..., QuerySet[M]],
    *values: Value,
    related: Sequence[str] = (),
    using: str = "default",
) -> list[M]:
    """The ``model`` instances of ``build(*values)`` — a queryset of that model (its filters,
    order, slice, row lock), not a ``values()`` one — with the ``related`` foreign keys' rows
    attached as ``select_related`` attaches them; compiled once per ``key`` and shape as
    ``read_compiled`` (same values, same refusals).

    Keeps: each instance is what the ORM's read gives — every concrete field loaded (none
    deferred), converted by the same converters, encrypted fields opened on first read with the
    row's uid, ``_state`` of a loaded row — and a related row that is NULL is cached as None.
    A lock (``select_for_update``) is in the statement: call inside a transaction, as the ORM
    demands of such a read."""
    layout = _layout(model, tuple(related))

    def rows_of(*vals: Value) -> QuerySet[Any]:
        qs = build(*vals)
        if qs.model is not model:
            raise TypeError(f"instances_compiled: the build reads {qs.model.__name__}")
        return qs.values_list(*layout.columns)

    rows = read_compiled(("instances", key, model, layout.columns), rows_of, *values, using=using)
    width = len(layout.names)
    out = []
    for row in rows:
        obj = model.from_db(using, layout.names, row[:width])
        pos = width
        for field, other, names, pk_at in layout.related:
            part = row[pos : pos + len(names)]
            pos += len(names)
            cached = None if part[pk_at] is None else other.from_db(using, names, part)
            field.set_cached_value(obj, cached)
        out.append(obj)
    return out
