"""The embedded mode's stand-in for celery beat: one daemon thread that sends the periodic tasks
of ``settings.SCRM_PERIODIC_TASKS`` at their intervals, in-process.

As beat does, it only sends them: the in-process worker (``scrm.worker``) runs them, so a slow
sweep never delays the next one's turn, and their events reach sockets as a worker's do. With
``SCRM_TASKS_EAGER`` (or in services mode, where this thread runs only if
``SCRM_RUN_SCHEDULER`` asks for it) a task runs in this thread instead, as before. Services mode
runs ``celery beat``, from the same table. A task that raises is logged (without its
arguments) and sent again at its next turn; the thread never dies of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        table: dict[str, float],
        run: Callable[[str], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = dict(table)
        self._run = run or _run_celery_task
        self._clock = clock
        self._next_due = {name: clock() for name in self.table}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> list[str]:
        """Run every task that is due now; return their names."""
        now = self._clock()
        ran = []
        for name, interval in self.table.items():
            if self._next_due[name] <= now:
                self._next_due[name] = now + interval
                try:
                    self._run(name)
                except Exception:
                    logger.exception("periodic task %s failed", name)
                ran.append(name)
        return ran

    def start(self, ready: Callable[[], bool] | None = None, ready_timeout: float = 30.0) -> None:
        """Start the thread; with ``ready``, its first turn waits until ``ready()`` is true (at
        most ``ready_timeout`` seconds): ``serve`` waits for its own port, since the first
        backfills call the simulator mounted in that server."""
        if self._thread is not None or not self.table:
            return
        self._thread = threading.Thread(
            target=self._loop, args=(ready, ready_timeout), name="scrm-scheduler", daemon=True
        )
        self._thread.start()
        logger.info("in-process scheduler started: %s", ", ".join(sorted(self.table)))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self, ready: Callable[[], bool] | None, ready_timeout: float) -> None:
        if ready is not None:
            deadline = time.monotonic() + ready_timeout
            while not self._stop.is_set() and time.monotonic() < deadline and not ready():
                self._stop.wait(0.05)
        while not self._stop.is_set():
            self.tick()
            wait = max(0.05, min(self._next_due.values()) - self._clock())
            self._stop.wait(min(wait, 1.0))


def _run_celery_task(name: str) -> object:
    from django.conf import settings
    from django.db import close_old_connections

    from scrm.celery import app

    if name not in app.tasks:
        # Autodiscovery is lazy: nothing imports the apps' tasks modules in a web process.
        app.loader.import_default_modules()
    task = app.tasks[name]
    if settings.SCRM_IN_PROCESS_WORKER and not app.conf.task_always_eager:
        return task.apply_async()
    close_old_connections()
    try:
        return task.apply().get(disable_sync_subtasks=False)
    finally:
        close_old_connections()


# --- the process's scheduler ---------------------------------------------------------------
_lock = threading.Lock()
_current: Scheduler | None = None


def scheduler_start(table: dict[str, float], ready: Callable[[], bool] | None = None) -> Scheduler:
    """Start the process's scheduler (once), its first turn when ``ready()`` (see
    ``Scheduler.start``); ``scheduler_stop`` ends it."""
    global _current
    with _lock:
        if _current is None:
            _current = Scheduler(table)
            _current.start(ready)
        return _current


def port_accepting(host: str, port: int) -> Callable[[], bool]:
    """A check that a TCP connection to ``host``:``port`` is accepted (a server listening)."""
    import socket

    address = "127.0.0.1" if host in ("", "0.0.0.0") else ("::1" if host == "::" else host)  # noqa: S104

    def check() -> bool:
        try:
            socket.create_connection((address, port), timeout=0.5).close()
        except OSError:
            return False
        return True

    return check


def scheduler_stop() -> None:
    global _current
    with _lock:
        current, _current = _current, None
    if current is not None:
        current.stop()
