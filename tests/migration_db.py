"""A database of its own for a data migration's test, migrated from nothing only as far as the
test needs.

Taking the test database back before an old migration and up again cost ~40 s a test: Django
renders the project's state for each of the twenty-odd migrations of every app it unapplies and
applies again. An empty database on the same server, migrated forward to the migration before
the one under test, costs a few seconds, and the test then goes forward and back over that one
alone. While it is open it is the ``default`` connection, so the migrations' own queries, the
historical models' and ``call_command("migrate")`` all go to it; the test database is left as
it was. It is dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import StateApps
from django.db.utils import load_backend


@contextmanager
def scratch_database() -> Iterator[BaseDatabaseWrapper]:
    """An empty database as the ``default`` connection until the block ends, then dropped."""
    original = connections["default"]
    base = original.settings_dict
    options = {k: v for k, v in base.get("OPTIONS", {}).items() if k != "pool"}
    scratch_dir = None
    if original.vendor == "postgresql":
        name = f"{base['NAME']}_migration"[:63]
        _pg_recreate(original, name, create=True)
    else:
        scratch_dir = tempfile.mkdtemp(prefix="scrm-migration-")
        name = os.path.join(scratch_dir, "db.sqlite3")
    settings_dict = {**base, "NAME": name, "OPTIONS": options}
    scratch = None
    try:
        scratch = load_backend(base["ENGINE"]).DatabaseWrapper(settings_dict, "default")
        connections["default"] = scratch
        yield scratch
    finally:
        connections["default"] = original
        if scratch is not None:
            scratch.close()
        if original.vendor == "postgresql":
            _pg_recreate(original, name, create=False)
        elif scratch_dir is not None:
            shutil.rmtree(scratch_dir)


def _pg_recreate(connection: BaseDatabaseWrapper, name: str, *, create: bool) -> None:
    quoted = connection.ops.quote_name(name)
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        if create:
            cursor.execute(f"CREATE DATABASE {quoted}")


def migrated_to(target: tuple[str, str]) -> StateApps:
    """Migrate the default connection to ``target`` (forward or back); the models as they
    are there (the graph's state at ``target``, whatever is applied)."""
    executor = MigrationExecutor(connections["default"])
    executor.migrate([target])
    return executor.loader.project_state(target).apps
