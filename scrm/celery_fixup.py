"""Celery's Django fix-up, keeping a prefork worker process's database pool between tasks.

Celery (5.5 to 5.7 at least) closes Django's PostgreSQL connection pool before and after every
task in a prefork worker (``celery.fixups.django.DjangoWorkerFixup._close_database``,
celery/celery#10554, its fix not released): each task then opened a new pool, which connected
``min_size`` new PostgreSQL sessions (a backend process forked and authenticated each), used
one, and closed them all at its end. Small tasks — a webhook batch of one event, a reply's
delivery, a sweep — spent more on that than on their work: in the soak's CI form on a 2-core
machine the workers fell minutes behind at 20 messages a second while the machine was two-thirds
idle (docs/performance.md, issue 18).

Here a task's end gives its connection back to the process's pool (``connection.close()``, as
a request's end does) and the pool stays open for the process's next task. Everything else is
Celery's: at a worker process's start the connections and pool inherited from the parent are
dropped (their sockets are the parent's), and caches are closed after each task. A connection
the database dropped while it waited in the pool is replaced when a task takes it (the worker
process's pool checks each connection it hands out: one round trip a task, far less than the
sessions it saves). The pool closes with its process.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from celery import Celery
from celery.fixups.django import DjangoFixup, DjangoWorkerFixup


class PoolKeepingWorkerFixup(DjangoWorkerFixup):
    """Celery's worker fix-up, except that a task's boundaries return connections to the
    process's pool instead of closing the pool."""

    def install(self) -> PoolKeepingWorkerFixup:
        super().install()
        if self.worker is not None and not self._is_prefork():
            # A worker of threads (deliveries: ``-P threads``) or solo runs its tasks in this
            # process, whose pool is opened by the first task: it checks as a prefork child's.
            self._pool_checks()
        return self

    def on_worker_process_init(self, **kwargs: Any) -> None:
        super().on_worker_process_init(**kwargs)  # the parent's connections and pool dropped
        self._pool_checks()

    def _pool_checks(self) -> None:
        # The pool this process opens checks a connection as it hands it out (an empty query):
        # one that the database dropped while it waited in the pool (a restart, an idle
        # timeout) is replaced instead of failing the task that took it, as each task's own
        # new sessions never could under Celery's fix-up. One round trip a task. Every
        # thread's connection shares these settings (one dict an alias).
        for connection in self._db.connections.all():
            connection.settings_dict["CONN_HEALTH_CHECKS"] = True
            if getattr(connection, "close_pool", None) is not None:
                # A pool object made before this (unopened: an opened one's connection was
                # initialized, and Celery's init above closed it) would not check: drop it.
                with contextlib.suppress(KeyError):
                    connection.close_pool()

    def on_task_prerun(self, sender: Any, **kwargs: Any) -> None:
        if not getattr(sender.request, "is_eager", False):
            self._connections_return()

    def on_task_postrun(self, sender: Any, **kwargs: Any) -> None:
        if not getattr(sender.request, "is_eager", False):
            self._connections_return()
            self.close_cache()

    def _connections_return(self) -> None:
        """Close each connection this process opened: a pooled one goes back to its pool."""
        for connection in self._db.connections.all(initialized_only=True):
            try:
                connection.close()
            except self.interface_errors:
                pass
            except self.DatabaseError as exc:
                text = str(exc)
                if "closed" not in text and "not connected" not in text:
                    raise


class PoolKeepingFixup(DjangoFixup):
    _worker_fixup: DjangoWorkerFixup | None

    @property
    def worker_fixup(self) -> DjangoWorkerFixup:
        if self._worker_fixup is None:
            self._worker_fixup = PoolKeepingWorkerFixup(self.app)
        return self._worker_fixup

    @worker_fixup.setter
    def worker_fixup(self, value: DjangoWorkerFixup) -> None:
        self._worker_fixup = value


def fixup(app: Celery, env: str = "DJANGO_SETTINGS_MODULE") -> DjangoFixup | None:
    """``Celery(fixups=["scrm.celery_fixup:fixup"])``: Celery's own Django fix-up but for the
    pool (Django is always installed here)."""
    if os.environ.get(env):
        return PoolKeepingFixup(app).install()
    return None
