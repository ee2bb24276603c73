"""What autovacuum would do, done by the soak when the server's autovacuum is off.

The CI machine's PostgreSQL runs with ``autovacuum = off`` (its tests want no background work
changing plans under them); production runs it on. Without it an hour at 100 messages/s
leaves every conversation dozens of dead row versions (each message updates its
conversation, and the queue's indexes make those updates non-HOT), and the run would measure a
bloat production never has. So when the server's autovacuum is off, the soak vacuums and
analyses the tables of its own database by autovacuum's own rules and settings (PostgreSQL
15's defaults, read from the server):

- VACUUM when dead rows exceed ``autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor
  * reltuples`` (50 + 20 %), or rows inserted since the last vacuum exceed
  ``autovacuum_vacuum_insert_threshold + autovacuum_vacuum_insert_scale_factor * reltuples``
  (1,000 + 20 %);
- ANALYZE when rows changed since the last analyse exceed ``autovacuum_analyze_threshold +
  autovacuum_analyze_scale_factor * reltuples`` (50 + 10 %);
- checked every ``autovacuum_naptime`` (1 minute), throttled as autovacuum is
  (``vacuum_cost_delay`` set to ``autovacuum_vacuum_cost_delay``, 2 ms).

Its work runs in a PostgreSQL backend, so its CPU is counted under PostgreSQL, as autovacuum's
would be. If the server's autovacuum is on, this does nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from typing import Any

from psycopg import sql

from bench import _common as c

_SETTINGS = (
    "autovacuum",
    "autovacuum_naptime",
    "autovacuum_vacuum_threshold",
    "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_insert_threshold",
    "autovacuum_vacuum_insert_scale_factor",
    "autovacuum_analyze_threshold",
    "autovacuum_analyze_scale_factor",
    "autovacuum_vacuum_cost_delay",
    "vacuum_cost_delay",
)

# The tables past autovacuum's thresholds: (schema, name, vacuum?, analyze?).
_DUE = """
SELECT s.schemaname, s.relname,
       s.n_dead_tup > %(vt)s + %(vs)s * greatest(c.reltuples, 0)
         OR (%(it)s >= 0
             AND s.n_ins_since_vacuum > %(it)s + %(is)s * greatest(c.reltuples, 0)),
       s.n_mod_since_analyze > %(at)s + %(as)s * greatest(c.reltuples, 0)
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
"""


class Autovacuum:
    """Runs in a thread of its own beside the soak (``start``, ``stop``); ``done`` counts the
    VACUUMs and ANALYZEs it ran."""

    def __init__(self, db_name: str) -> None:
        self.db_name = db_name
        self.done: Counter[str] = Counter()
        self.active = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None  # the connection a VACUUM may be running on (stop cancels it)

    def _connect(self):
        import psycopg

        return psycopg.connect(c.PG_ADMIN_URL, dbname=self.db_name, autocommit=True)

    def start(self) -> None:
        with self._connect() as conn:
            settings = dict(
                conn.execute(
                    "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", [list(_SETTINGS)]
                ).fetchall()
            )
        if settings.get("autovacuum") == "on":
            return  # the server does it
        self.active = True
        self._thread = threading.Thread(
            target=self._loop, args=(settings,), name="soak-autovacuum", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.cancel()  # a VACUUM of a large table would outlast the run
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _loop(self, settings: dict[str, str]) -> None:
        limits = {
            "vt": float(settings["autovacuum_vacuum_threshold"]),
            "vs": float(settings["autovacuum_vacuum_scale_factor"]),
            "it": float(settings["autovacuum_vacuum_insert_threshold"]),
            "is": float(settings["autovacuum_vacuum_insert_scale_factor"]),
            "at": float(settings["autovacuum_analyze_threshold"]),
            "as": float(settings["autovacuum_analyze_scale_factor"]),
        }
        naptime = float(settings["autovacuum_naptime"])  # seconds
        delay = float(settings["autovacuum_vacuum_cost_delay"])  # milliseconds; -1: the plain one
        if delay < 0:
            delay = float(settings["vacuum_cost_delay"])
        while not self._stop.wait(naptime):
            try:
                with self._connect() as conn:
                    self._conn = conn
                    conn.execute(f"SET vacuum_cost_delay = '{delay}ms'")
                    for schema, table, vacuum, analyze in conn.execute(_DUE, limits).fetchall():
                        if self._stop.is_set():
                            return
                        if vacuum or analyze:
                            self._run(conn, sql.Identifier(schema, table), vacuum, analyze)
            except Exception as exc:  # no connection, or the database dropped at the end
                if not self._stop.is_set():
                    self.done[f"error {type(exc).__name__}"] += 1
            finally:
                self._conn = None

    def _run(self, conn: Any, table: Any, vacuum: bool, analyze: bool) -> None:
        try:
            if vacuum:
                command = "VACUUM (ANALYZE) {}" if analyze else "VACUUM {}"
                conn.execute(sql.SQL(command).format(table))
                self.done["vacuum"] += 1
            else:
                conn.execute(sql.SQL("ANALYZE {}").format(table))
            if analyze:
                self.done["analyze"] += 1
        except Exception as exc:  # one table's failure does not keep the others from theirs
            if not self._stop.is_set():  # (stop cancels a running one)
                self.done[f"error {type(exc).__name__}"] += 1

    def summary(self) -> str:
        if not self.active:
            return "the server's own (autovacuum on)"
        return (
            f"the bench's, by autovacuum's rules (the server's is off): "
            f"{self.done['vacuum']} VACUUMs, {self.done['analyze']} ANALYZEs"
            + "".join(f", {k}: {v}" for k, v in sorted(self.done.items()) if k.startswith("error"))
        )
