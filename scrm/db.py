"""Database helpers the ORM has no public form of."""

from __future__ import annotations

from typing import Any

from django.db import connections, router
from django.db.models import Model

_SQL: dict[tuple[str, type[Model]], tuple[str, list]] = {}


def insert_unless_conflict(obj: Model) -> bool:
    """Insert ``obj`` with ``INSERT … ON CONFLICT DO NOTHING RETURNING pk`` (PostgreSQL, and
    SQLite 3.35+): True, its pk set, when the row was inserted; False, nothing written, when
    a unique constraint or index (partial ones too) already holds such a row.

    What ``create`` in a savepoint with ``except IntegrityError`` does, in one statement
    instead of three: a conflict raises nothing and leaves the transaction usable. Values are
    prepared as Django's own insert prepares them (each field's ``pre_save`` with add, then
    ``get_db_prep_save``: defaults, ``auto_now_add``, encrypted fields sealed for the row). No
    model signals are sent (no receiver in this project listens to them). Other integrity
    errors (a check, a foreign key) raise as usual."""
    model = type(obj)
    alias = router.db_for_write(model, instance=obj)
    connection = connections[alias]
    key = (alias, model)
    if key not in _SQL:
        meta = model._meta
        pk = meta.pk
        if pk is None:  # every concrete model has one; for the type checker
            raise TypeError(f"{model.__name__} has no primary key")
        fields = [
            f
            for f in meta.local_concrete_fields
            if not getattr(f, "generated", False) and not (f is pk and pk.db_returning)
        ]
        qn = connection.ops.quote_name

        def column(f: Any) -> str:
            return qn(f.attname if f.column is None else f.column)

        columns = ", ".join(column(f) for f in fields)
        _SQL[key] = (
            f"INSERT INTO {qn(meta.db_table)} ({columns})"  # noqa: S608 - model names only
            f" VALUES ({', '.join(['%s'] * len(fields))})"
            f" ON CONFLICT DO NOTHING RETURNING {column(pk)}",
            fields,
        )
    sql, fields = _SQL[key]
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = alias
    return True
