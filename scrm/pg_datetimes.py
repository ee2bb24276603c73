"""Timestamps read from PostgreSQL by psycopg's C loader, not Django's pure-Python one.

Django (5.2) registers its own ``timestamptz`` loader on every psycopg 3 connection: a Python
subclass of psycopg's ``TimestamptzLoader`` that parses the text, then replaces the time zone
with the connection's. psycopg swaps its own loaders for their C versions, but not a subclass,
so every timestamp Django reads is parsed in Python: ~5 µs a value on this project's machines
against ~0.7 µs in C (a queue page reads ~500 of them). When the session's time zone is UTC
(Django's own choice with ``USE_TZ`` and no database ``TIME_ZONE``), the C loader gives the
same values, tz-aware in ``datetime.timezone.utc``; this module registers a loader that hands
each value to it, and keeps Django's loader for any other time zone.

Connected on ``connection_created`` (``ScrmConfig.ready``); the figures are in
docs/performance.md ("Issue 18").
"""

from __future__ import annotations

import datetime
from typing import Any

from psycopg import adapt

UTC = datetime.UTC

try:  # psycopg's C implementation: requirements.txt installs psycopg[binary]
    from psycopg_binary import _psycopg

    C_LOADER: Any = getattr(_psycopg, "TimestamptzLoader")  # noqa: B009 - untyped C module
except ImportError:  # pragma: no cover - a build without the C extension
    C_LOADER = None


class UtcTimestamptzLoader(adapt.Loader):
    """``timestamptz`` in UTC through psycopg's C loader. Its ``timezone`` is what Django's
    cursor factory compares with the connection's (and then leaves the loader alone)."""

    timezone = UTC

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        connection = getattr(context, "connection", None)
        if connection is not None and connection.info.timezone is not UTC:
            # Not a UTC session (someone SET TIME ZONE): Django's semantics, in Python.
            from django.db.backends.postgresql.psycopg_any import BaseTzLoader

            slow = type("UtcTzLoader", (BaseTzLoader,), {"timezone": UTC})(oid, context)
            self.load = slow.load  # type: ignore[method-assign]
        else:
            self.load = C_LOADER(oid, context).load  # type: ignore[method-assign]

    def load(self, data: Any) -> Any:  # replaced per instance in __init__
        raise NotImplementedError


def use_c_timestamps(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: the C loader on a PostgreSQL connection whose Django
    time zone is UTC."""
    if C_LOADER is None or connection.vendor != "postgresql":
        return
    if connection.timezone is not UTC or connection.connection.info.timezone is not UTC:
        return
    connection.connection.adapters.register_loader("timestamptz", UtcTimestamptzLoader)
