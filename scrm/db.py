"""Database helpers the ORM has no public form of."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connections, router
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
        cursor.execute(sql, params)
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
    signals (as ``bulk_create``)."""
    if not objs:
        return
    model = type(objs[0])
    alias = router.db_for_write(model, instance=objs[0])
    connection = connections[alias]
    raw = dict(sql_values or {})
    key = (alias, model, ignore_conflicts, tuple(sorted(raw.items())))
    insert = _INSERTS.get(key)
    if insert is None:
        insert = _INSERTS[key] = _insert_for(model, connection, ignore_conflicts, raw)
    pk = model._meta.pk
    auto_pk = pk is not None and pk.db_returning
    returning = auto_pk and not ignore_conflicts
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
    with connection.cursor() as cursor:
        for start in range(0, len(objs), chunk):
            count = min(chunk, len(objs) - start)
            sql = insert.head + ", ".join([insert.row] * count) + insert.tail
            cursor.execute(sql, params[start * per_row : (start + count) * per_row])
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
    model: type[Model], connection: Any, ignore_conflicts: bool, raw: Mapping[str, str]
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
    if pk.db_returning and not ignore_conflicts:
        tail += f" RETURNING {qn(pk.column)}"
    return _Insert(
        head=f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ",  # noqa: S608 - own names
        row=row,
        tail=tail,
        fields=tuple(f for f in fields if f.attname not in raw),
        per_row=sum(1 for f in fields if f.attname not in raw),
    )


# --- one row's fields, without the ORM's save machinery --------------------------------------
_UPDATES: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}


def row_update(obj: Model, fields: Sequence[str]) -> None:
    """``obj.save(update_fields=fields)`` as one ``UPDATE … SET … WHERE pk = %s``, the
    statement's text built once per database, model and field list: each value prepared as
    Django's update prepares it (``pre_save`` without add, so ``auto_now`` fields take the
    time, then ``get_db_prep_save``: encrypted fields sealed for the row). Fields by name or
    attribute name, concrete and not the primary key; a value that is an expression is
    refused. Raises ``DatabaseError`` when no row has the object's pk, as ``save`` does. No
    model signals (no receiver in this project listens to them)."""
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
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount == 0:
            raise DatabaseError("Save with update_fields did not affect any rows.")


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
