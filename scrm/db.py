"""Database helpers the ORM has no public form of."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router, transaction
from django.db.models import Model, UniqueConstraint

_SQL: dict[tuple[str, type[Model], str], tuple[str, list]] = {}


def insert_unless_conflict(obj: Model, *, constraint: str) -> bool:
    """Insert ``obj`` with ``INSERT … ON CONFLICT (its columns) [WHERE its condition] DO
    NOTHING RETURNING pk`` (PostgreSQL, and SQLite 3.35+): True, its pk set, when the row was
    inserted; False, nothing written, when the model's unique ``constraint`` (named as in its
    ``Meta.constraints``; a conditional one too) already holds such a row.

    What ``create`` in a savepoint with ``except IntegrityError`` does, in one statement
    instead of three: that conflict raises nothing and leaves the transaction usable; any
    other integrity error (another unique key, a check, NOT NULL) raises as usual. Values are
    prepared as Django's own insert prepares them (each field's ``pre_save`` with add, then
    ``get_db_prep_save``: defaults, ``auto_now_add``, encrypted fields sealed for the row); a
    value that is an expression (``db_default``, ``F``, ``Now()``) is refused, as is an
    explicit auto primary key. No model signals are sent (no receiver in this project listens
    to them)."""
    model = type(obj)
    alias = router.db_for_write(model, instance=obj)
    connection = connections[alias]
    sql, fields = insert_sql(model, constraint, alias)
    pk = model._meta.pk
    if obj.pk is not None and pk is not None and pk.db_returning:
        raise ValueError(f"{model.__name__}: an auto primary key is the database's to give")
    params = _db_values(obj, fields, connection, add=True)
    with connection.cursor() as cursor:
        _execute(cursor, connection, sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = alias
    return True


def _db_values(obj: Model, fields: Sequence[Any], connection: Any, *, add: bool) -> list[Any]:
    """``fields``' values of ``obj`` as Django's insert (``add``) or update prepares them: each
    field's ``pre_save`` (defaults, ``auto_now``/``auto_now_add``, encrypted fields sealed for
    the row), then ``get_db_prep_save``. A value that is an expression is refused."""
    values = []
    for f in fields:
        value = f.pre_save(obj, add)
        if hasattr(value, "resolve_expression"):
            raise TypeError(f"{type(obj).__name__}.{f.name}: an expression, not a value")
        values.append(f.get_db_prep_save(value, connection))
    return values


def insert_sql(model: type[Model], constraint: str, alias: str) -> tuple[str, list]:
    """``INSERT INTO <model's table> (<every column but a database-given id>) VALUES (%s, …) ON
    CONFLICT (<constraint's columns>) [WHERE <its condition>] DO NOTHING RETURNING <pk>`` and
    those fields in order, built once per database, model and constraint."""
    key = (alias, model, constraint)
    if key not in _SQL:
        _SQL[key] = _insert_sql(model, constraint, connections[alias])
    return _SQL[key]


def _insert_sql(model: type[Model], constraint: str, connection: Any) -> tuple[str, list]:
    meta = model._meta
    pk = meta.pk
    if pk is None:  # every concrete model has one; for the type checker
        raise TypeError(f"{model.__name__} has no primary key")
    unique = next(
        (c for c in meta.constraints if isinstance(c, UniqueConstraint) and c.name == constraint),
        None,
    )
    if unique is None or not unique.fields or unique.expressions:
        raise ValueError(f"{model.__name__} has no unique constraint {constraint!r} on fields")
    fields = [
        f
        for f in meta.local_concrete_fields
        if not getattr(f, "generated", False) and not (f is pk and pk.db_returning)
    ]
    qn = connection.ops.quote_name

    def column(f: Any) -> str:
        return qn(f.attname if f.column is None else f.column)

    target = ", ".join(column(meta.get_field(name)) for name in unique.fields)
    # The constraint's condition as its index has it, so PostgreSQL infers that partial index
    # (Django's own rendering of it, as in CREATE INDEX).
    render = unique._get_condition_sql  # type: ignore[attr-defined]
    condition = render(model, connection.SchemaEditorClass(connection))
    where = f" WHERE {condition}" if condition else ""
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(column(f) for f in fields)})"  # noqa: S608
        f" VALUES ({', '.join(['%s'] * len(fields))})"
        f" ON CONFLICT ({target}){where} DO NOTHING RETURNING {column(pk)}"
    )  # the model's own names; values go as parameters
    return sql, fields


# --- many rows in one INSERT, without the ORM's per-call work ---------------------------------
@dataclass(frozen=True)
class _Insert:
    head: str  # INSERT INTO table (columns) VALUES
    row: str  # one row's placeholders, e.g. (%s, %s, now())
    tail: str  # ON CONFLICT DO NOTHING and/or RETURNING pk
    fields: tuple[Any, ...]  # the fields whose values go as parameters, in order
    per_row: int  # parameters a row takes


_INSERTS: dict[tuple[Any, ...], _Insert] = {}


def insert_rows(
    objs: Sequence[Model],
    *,
    ignore_conflicts: bool = False,
    sql_values: Mapping[str, str] | None = None,
    defer: bool = False,
) -> None:
    """Insert ``objs`` (all of one model) in one ``INSERT … VALUES (…), (…)`` (more when the
    database's parameter limit asks), setting each object's pk from ``RETURNING`` in order, as
    ``bulk_create`` does on PostgreSQL and SQLite; with ``ignore_conflicts`` (``ON CONFLICT DO
    NOTHING``) no pk is set, as there.

    What ``bulk_create`` writes, for a fraction of its Python: the statement's text is built
    once per database, model and options, and each value is prepared as Django's own insert
    prepares it (each field's ``pre_save`` with add, then ``get_db_prep_save``: defaults,
    ``auto_now_add``, encrypted fields sealed, JSON adapted). ``sql_values``: columns (by
    attribute name) whose value is the same SQL expression for every row, e.g. the transaction
    id (no parameters; the object's attribute is left as it was). A value that is an
    expression is refused, as is an explicit auto primary key. A related object must be saved
    before it is assigned (its id is taken then; ``bulk_create`` would look again). No model
    signals (as ``bulk_create``).

    ``defer``: rows nobody reads back in the transaction (search tokens): inside
    ``writes_deferred`` they are sent with the block's next statement instead of on their own
    (no pk is set then); elsewhere at once, as without it."""
    if not objs:
        return
    model = type(objs[0])
    alias = router.db_for_write(model, instance=objs[0])
    connection = connections[alias]
    queue = _deferring(connection) if defer else None
    pk = model._meta.pk
    auto_pk = pk is not None and pk.db_returning
    returning = auto_pk and not ignore_conflicts and queue is None
    raw = dict(sql_values or {})
    key = (alias, model, ignore_conflicts, returning, tuple(sorted(raw.items())))
    insert = _INSERTS.get(key)
    if insert is None:
        insert = _INSERTS[key] = _insert_for(
            model, connection, ignore_conflicts, raw, returning=returning
        )
    params: list[Any] = []
    for obj in objs:
        if type(obj) is not model:
            raise TypeError("insert_rows: objects of one model only")
        if auto_pk and obj.pk is not None:
            raise ValueError(f"{model.__name__}: an auto primary key is the database's to give")
        params += _db_values(obj, insert.fields, connection, add=True)
    per_row = insert.per_row
    limit = connection.features.max_query_params or 65_535
    chunk = max(1, limit // per_row) if per_row else len(objs)
    statements = []  # (first row, rows, sql, its parameters)
    for start in range(0, len(objs), chunk):
        count = min(chunk, len(objs) - start)
        sql = insert.head + ", ".join([insert.row] * count) + insert.tail
        statements.append((start, count, sql, params[start * per_row : (start + count) * per_row]))
    if queue is not None:
        queue.statements += [(sql, values, None) for _, _, sql, values in statements]
        for obj in objs:
            obj._state.adding = False
            obj._state.db = alias
        return
    with connection.cursor() as cursor:
        for start, count, sql, values in statements:
            _execute(cursor, connection, sql, values)
            if returning:
                ids = [row[0] for row in cursor.fetchall()]
                if len(ids) != count:  # every row inserted, so every row returned
                    raise RuntimeError("insert_rows: fewer ids returned than rows inserted")
                for obj, pk_value in zip(objs[start : start + count], ids, strict=True):
                    obj.pk = pk_value
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias


def _insert_for(
    model: type[Model],
    connection: Any,
    ignore_conflicts: bool,
    raw: Mapping[str, str],
    *,
    returning: bool,
) -> _Insert:
    meta = model._meta
    pk = meta.pk
    if pk is None:  # every concrete model has one; for the type checker
        raise TypeError(f"{model.__name__} has no primary key")
    qn = connection.ops.quote_name
    fields = [
        f
        for f in meta.local_concrete_fields
        if not getattr(f, "generated", False) and not (f is pk and pk.db_returning)
    ]
    unknown = set(raw) - {f.attname for f in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no column {sorted(unknown)!r} to write")
    columns = ", ".join(qn(f.column) for f in fields)
    row = "(" + ", ".join(raw.get(f.attname, "%s") for f in fields) + ")"
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if returning:
        tail += f" RETURNING {qn(pk.column)}"
    return _Insert(
        head=f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ",  # noqa: S608 - own names
        row=row,
        tail=tail,
        fields=tuple(f for f in fields if f.attname not in raw),
        per_row=sum(1 for f in fields if f.attname not in raw),
    )


# --- many rows of plain values, without model instances --------------------------------------
_VALUES: dict[tuple[Any, ...], tuple[str, str, int]] = {}


def insert_values(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    defer: bool = False,
) -> None:
    """Insert ``rows`` of ``model``: each a tuple of values for ``columns`` (attribute names:
    every concrete field but a database-given primary key), as the database takes them
    (integers, text): no model instance is made, no field prepares a value. For the many small
    rows a store writes (search tokens), where ``insert_rows``' per-object work was most of
    their cost.

    PostgreSQL: one ``INSERT … SELECT * FROM unnest(%s::type[], …)``, one array a column, so the
    statement's text is the same whatever the number of rows; SQLite: ``VALUES (…), (…)``, as
    many statements as its parameter limit asks. No pk is returned, no model signals.
    ``defer`` as ``insert_rows``'."""
    if not rows:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    key = (alias, model, tuple(columns))
    found = _VALUES.get(key)
    if found is None:
        found = _VALUES[key] = _values_for(model, tuple(columns), connection)
    head, row, width = found
    for values in rows:
        if len(values) != width:
            raise ValueError(f"insert_values: {width} values a row, not {len(values)}")
    if connection.vendor == "postgresql":
        statements = [(head + row, [list(column) for column in zip(*rows, strict=True)])]
    else:
        limit = connection.features.max_query_params or 65_535
        chunk = max(1, limit // width)
        statements = []
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            sql = head + ", ".join([row] * len(part))
            statements.append((sql, [value for values in part for value in values]))
    queue = _deferring(connection) if defer else None
    if queue is not None:
        queue.statements += [(sql, params, None) for sql, params in statements]
        return
    with connection.cursor() as cursor:
        for sql, params in statements:
            _execute(cursor, connection, sql, params)


def _values_for(
    model: type[Model], columns: tuple[str, ...], connection: Any
) -> tuple[str, str, int]:
    meta = model._meta
    pk = meta.pk
    by_attname = {f.attname: f for f in meta.local_concrete_fields}
    needed = {
        name
        for name, f in by_attname.items()
        if not getattr(f, "generated", False) and not (f is pk and pk.db_returning)
    }
    if set(columns) != needed or len(columns) != len(needed):
        raise ValueError(f"{model.__name__}: insert_values writes {sorted(needed)!r}, each once")
    qn = connection.ops.quote_name
    names = ", ".join(qn(by_attname[name].column) for name in columns)
    head = f"INSERT INTO {qn(meta.db_table)} ({names}) "
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{by_attname[name].db_type(connection)}[]" for name in columns)
        return head, f"SELECT * FROM unnest({arrays})", len(columns)  # noqa: S608 - own names
    return head + "VALUES ", "(" + ", ".join(["%s"] * len(columns)) + ")", len(columns)


# --- one row's fields, without the ORM's save machinery --------------------------------------
_UPDATES: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}


def row_update(obj: Model, fields: Sequence[str], *, defer: bool = False) -> None:
    """``obj.save(update_fields=fields)`` as one ``UPDATE … SET … WHERE pk = %s``, the
    statement's text built once per database, model and field list: each value prepared as
    Django's update prepares it (``pre_save`` without add, so ``auto_now`` fields take the
    time, then ``get_db_prep_save``: encrypted fields sealed for the row). Fields by name or
    attribute name, concrete and not the primary key; a value that is an expression is
    refused. Raises ``DatabaseError`` when no row has the object's pk, as ``save`` does. No
    model signals (no receiver in this project listens to them).

    ``defer``: inside ``writes_deferred``, sent with the block's next statement (the missing
    row raises then); elsewhere at once."""
    model = type(obj)
    alias = obj._state.db or router.db_for_write(model, instance=obj)
    connection = connections[alias]
    key = (alias, model, tuple(fields))
    found = _UPDATES.get(key)
    if found is None:
        found = _UPDATES[key] = _update_for(model, tuple(fields), connection)
    sql, targets = found
    params = _db_values(obj, targets, connection, add=False)
    params.append(model._meta.pk.get_db_prep_value(obj.pk, connection))
    queue = _deferring(connection) if defer else None
    if queue is not None:
        queue.statements.append((sql, params, 1))
        return
    with connection.cursor() as cursor:
        _execute(cursor, connection, sql, params, rows=1)


def _update_for(
    model: type[Model], fields: tuple[str, ...], connection: Any
) -> tuple[str, tuple[Any, ...]]:
    meta = model._meta
    pk = meta.pk
    if pk is None:  # every concrete model has one; for the type checker
        raise TypeError(f"{model.__name__} has no primary key")
    by_name: dict[str, Any] = {}
    for concrete in meta.concrete_fields:
        by_name[concrete.name] = by_name[concrete.attname] = concrete
    targets: list[Any] = []
    for name in dict.fromkeys(fields):
        target = by_name.get(name)
        if target is None or target is pk or getattr(target, "generated", False):
            raise ValueError(f"{model.__name__}: {name!r} is not a field an update can write")
        if target not in targets:
            targets.append(target)
    if not targets:
        raise ValueError(f"{model.__name__}: no field to update")
    qn = connection.ops.quote_name
    sets = ", ".join(f"{qn(f.column)} = %s" for f in targets)
    sql = f"UPDATE {qn(meta.db_table)} SET {sets} WHERE {qn(pk.column)} = %s"  # noqa: S608
    return sql, tuple(targets)


# --- writes sent with the next statement -----------------------------------------------------
_NO_ROW_UPDATED = "Save with update_fields did not affect any rows."


@dataclass
class _Deferred:
    connection: Any  # this thread's connection the block began on
    depth: int  # the atomic blocks open when it began (Django's savepoint ids, None included)
    # (sql, params, the row count it must have, or None for any), in the order asked
    statements: list[tuple[str, list[Any], int | None]] = field(default_factory=list)


_deferred: ContextVar[_Deferred | None] = ContextVar("scrm_db_deferred", default=None)


def savepoint_depth(connection: Any) -> int:
    """How many savepoints are open on ``connection``: the nested ``atomic`` blocks that can be
    rolled back alone. A block without a savepoint (``atomic(savepoint=False)``, and
    ``writes_deferred`` itself) does not count: its failure dooms the whole transaction, so
    what was deferred or gathered before it can never be committed apart from what it did."""
    return sum(1 for sid in connection.savepoint_ids if sid)


@contextmanager
def writes_deferred(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """An atomic block (part of the transaction it is in, no savepoint of its own) in which
    the writes asked with ``defer=True`` (``insert_rows``, ``row_update``,
    ``statement_deferred``) — writes whose results nothing in the transaction reads back, such
    as search tokens, a metric's day mark, the conversation's gathered UPDATE — are not sent on
    their own on PostgreSQL: they go with the block's next statement sent through this module
    (``insert_rows``, ``row_update``, ``insert_unless_conflict``), in one round trip and in the
    order asked, before it; what is left goes when the block ends.

    Keeps: the transaction holds the same rows at commit as with each write sent at once; a
    deferred write that fails raises from the statement it went with; a ``row_update`` that
    finds no row raises as it does at once; an exception in the block sends nothing and, the
    block being atomic, leaves the transaction to roll back (as without a savepoint: nothing
    the block wrote, sent or not, can be committed). A write asked inside a savepoint opened
    within the block goes at once (rolling the savepoint back takes it), and a statement inside
    such a savepoint carries none of the block's (they are not the savepoint's to roll back);
    the ORM's own reads and writes carry none either, so nothing may read in the block what it
    deferred, nor write through the ORM what a deferred write will write (it would land after:
    the store's later write of its conversation, auto-assignment's, goes through ``row_update``,
    which sends the deferred ones first). SQLite, or server-side binding: every write at once.
    Nested: the outermost sends."""
    connection = connections[using]
    with transaction.atomic(using=using, savepoint=False):
        if (
            _deferred.get() is not None
            or connection.vendor != "postgresql"
            # several statements in one query need the client-side binding (Django's default)
            or connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")
        ):
            yield
            return
        queue = _Deferred(connection, savepoint_depth(connection))
        token = _deferred.set(queue)
        try:
            yield
        finally:
            _deferred.reset(token)
        if queue.statements:
            statements, queue.statements = queue.statements, []
            with connection.cursor() as cursor:
                _execute_with(cursor, statements[:-1], *statements[-1])


def statement_deferred(sql: str, params: Sequence[Any], using: str = DEFAULT_DB_ALIAS) -> None:
    """Run a write (raw SQL with parameters) whose result nothing reads: inside
    ``writes_deferred``, with the block's next statement; elsewhere at once."""
    if ";" in sql:  # one statement (its result read as one when it goes with others)
        raise ValueError("statement_deferred: one statement, without ';'")
    connection = connections[using]
    queue = _deferring(connection)
    if queue is not None:
        queue.statements.append((sql, list(params), None))
        return
    with connection.cursor() as cursor:
        _execute(cursor, connection, sql, list(params))


def _deferring(connection: Any) -> _Deferred | None:
    queue = _deferred.get()
    if (
        queue is None
        or queue.connection is not connection
        or savepoint_depth(connection) != queue.depth
    ):
        return None
    return queue


def _execute(
    cursor: Any, connection: Any, sql: str, params: list[Any], *, rows: int | None = None
) -> None:
    """``cursor.execute``, carrying the writes deferred so far (``writes_deferred``) in the
    same round trip, before it; the cursor is left on this statement's result, which must
    count ``rows`` rows when given (``DatabaseError`` otherwise, as a ``save`` that updated
    nothing)."""
    queue = _deferring(connection)
    before: list[tuple[str, list[Any], int | None]] = []
    if queue is not None:
        before, queue.statements = queue.statements, []
    _execute_with(cursor, before, sql, params, rows)


def _execute_with(
    cursor: Any,
    before: list[tuple[str, list[Any], int | None]],
    sql: str,
    params: list[Any],
    rows: int | None,
) -> None:
    # One simple-protocol query of several statements (psycopg binds the parameters on the
    # client side); each statement's result is read in turn, the last one's left to read.
    if not before:
        cursor.execute(sql, params)
    else:
        texts = [text for text, _, _ in before]
        values = [value for _, given, _ in before for value in given]
        cursor.execute("; ".join([*texts, sql]), [*values, *params])
        for text, _, expected in before:
            if expected is not None and cursor.rowcount != expected:
                raise DatabaseError(_NO_ROW_UPDATED)
            if not cursor.nextset():  # one result a statement, or the checks would drift
                raise DatabaseError(f"a deferred write gave no result after it: {text[:60]}")
    if rows is not None and cursor.rowcount != rows:
        raise DatabaseError(_NO_ROW_UPDATED)
