"""The embedded mode's Celery worker: tasks run on a few threads of the server process, never in
the request that sent them, as ``celery worker`` runs them in services mode.

Every way a task is sent (``delay``, ``apply_async``, ``self.retry(countdown=...)``, a
signature) ends in ``Celery.send_task``; ``scrm.celery.App.send_task`` hands the task here when
``settings.SCRM_IN_PROCESS_WORKER`` is on (embedded mode, unless ``SCRM_TASKS_EAGER``). Tasks are
kept in one heap ordered by due time; a task with a countdown waits there, not on a thread, so a
platform that keeps failing delays nobody else. Each task runs through Celery's own tracer
with ``is_eager`` off, exactly as in a worker: ``self.retry`` sends the next try back here with
its countdown, and an exception is logged by Celery and ends that task only.

Why not ``celery worker`` in a thread on the ``memory://`` transport: the transport is polled
(a second between polls by default), its queues are class attributes that a channel's
``close()`` resets (kombu #1147), Celery's ``WorkController`` installs signal handlers that only
the main thread may install, and its embedded form (``celery.contrib.testing.worker``) is built
for tests. What a worker must do here is small; the ``InProcessWorker`` does just that.

Messages are serialised to JSON and back at send time, as the broker would, so a task that
could not be sent in services mode fails here too, in the caller. Queued tasks live in memory:
tasks still waiting when the process stops are dropped (and logged by count). Nothing durable
depends on them: replies and webhooks are rows that the periodic sweeps queue again
(``inbox.tasks.sweep_outbox``, ``reprocess_stale_webhooks``).

SQLite: worker threads write with their own connections, as requests do; every transaction
starts with ``BEGIN IMMEDIATE`` and waits up to the busy timeout for the write lock
(``scrm/settings.py``), and the outbox holds no transaction across platform I/O, so a worker
never keeps a request waiting longer than one short transaction.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kombu import serialization

if TYPE_CHECKING:
    from celery import Celery

logger = logging.getLogger(__name__)


@dataclass(order=True)
class Job:
    """One task message: what ``send_task`` would have put on the broker."""

    due: float  # on the worker's clock (monotonic)
    seq: int
    name: str = field(compare=False)
    task_id: str = field(compare=False)
    args: list[Any] = field(compare=False)
    kwargs: dict[str, Any] = field(compare=False)
    retries: int = field(compare=False, default=0)
    root_id: str | None = field(compare=False, default=None)
    parent_id: str | None = field(compare=False, default=None)


class InProcessWorker:
    """Runs the tasks given to ``submit`` on ``threads`` daemon threads, each when it is due."""

    def __init__(
        self,
        app: Celery,
        *,
        threads: int = 2,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if threads < 1:
            raise ValueError("the in-process worker needs at least one thread")
        self.app = app
        self.pid = os.getpid()
        self.hostname = f"in-process@{os.getpid()}"
        self._thread_count = threads
        self._clock = clock
        self._wall_clock = wall_clock
        self._heap: list[Job] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._running = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._tracers: dict[str, Callable[..., Any]] = {}

    # --- the broker side ------------------------------------------------------------------
    def submit(
        self,
        name: str,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        task_id: str,
        countdown: float | None = None,
        eta: datetime | None = None,
        retries: int = 0,
        root_id: str | None = None,
        parent_id: str | None = None,
    ) -> None:
        """Queue a task to run after ``countdown`` seconds or at ``eta`` (else now)."""
        # Through JSON and back, as the broker would: the task gets what a worker would get.
        content_type, encoding, data = serialization.dumps(
            [list(args or ()), dict(kwargs or {})], "json"
        )
        plain_args, plain_kwargs = serialization.loads(data, content_type, encoding)
        delay = 0.0
        if countdown is not None:
            delay = float(countdown)
        elif eta is not None:
            delay = eta.timestamp() - self._wall_clock()
        job = Job(
            due=self._clock() + max(0.0, delay),
            seq=next(self._seq),
            name=name,
            task_id=task_id,
            args=plain_args,
            kwargs=plain_kwargs,
            retries=retries,
            root_id=root_id,
            parent_id=parent_id,
        )
        with self._cond:
            if self._stopping:
                logger.warning("in-process worker stopped: task %s[%s] dropped", name, task_id)
                return
            heapq.heappush(self._heap, job)
            self._cond.notify()

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            if self._threads:
                return
            self._stopping = False
            self._threads = [
                threading.Thread(target=self._serve, name=f"scrm-worker-{n}", daemon=True)
                for n in range(self._thread_count)
            ]
        for thread in self._threads:
            thread.start()
        logger.info("in-process worker started: %d threads", self._thread_count)

    def stop(self, timeout: float = 10.0) -> int:
        """Finish the tasks running or due now (within ``timeout``), drop the ones waiting on a
        countdown; return how many were dropped."""
        deadline = self._clock() + timeout
        with self._cond:
            while self._running or self._due_now():
                remaining = deadline - self._clock()
                if remaining <= 0 or not self._threads:
                    break
                self._cond.wait(min(remaining, 0.1))
            self._stopping = True
            dropped = len(self._heap)
            self._heap.clear()
            self._cond.notify_all()
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(max(0.0, deadline - self._clock()))
        if dropped:
            # Ids only in the log: the sweeps find the rows these tasks were about.
            logger.warning("in-process worker stopped with %d queued tasks dropped", dropped)
        still = sum(thread.is_alive() for thread in threads)
        if still:
            logger.warning("in-process worker stopped with %d tasks still running", still)
        elif threads:
            logger.info("in-process worker stopped")
        return dropped

    @property
    def alive(self) -> bool:
        with self._cond:
            return bool(self._threads) and not self._stopping

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no task is queued or running (countdowns included); False on timeout."""
        deadline = self._clock() + timeout
        with self._cond:
            while self._running or self._heap:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1))
        return True

    # --- the worker side ------------------------------------------------------------------
    def _due_now(self) -> bool:
        return bool(self._heap) and self._heap[0].due <= self._clock()

    def _next(self) -> Job | None:
        with self._cond:
            while not self._stopping:
                if self._due_now():
                    self._running += 1
                    return heapq.heappop(self._heap)
                wait = self._heap[0].due - self._clock() if self._heap else None
                self._cond.wait(wait)
            return None

    def _serve(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._execute(job)
            except Exception:  # the thread outlives any task (Celery's tracer logs most)
                logger.exception("in-process worker: task %s[%s] crashed", job.name, job.task_id)
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def _execute(self, job: Job) -> None:
        from django.db import close_old_connections

        tracer = self._tracer(job.name)
        if tracer is None:
            logger.error("in-process worker: unknown task %s[%s] dropped", job.name, job.task_id)
            return
        request = {
            "id": job.task_id,
            "task": job.name,
            "retries": job.retries,
            "root_id": job.root_id or job.task_id,
            "parent_id": job.parent_id,
            "hostname": self.hostname,
            "is_eager": False,
            "delivery_info": {"exchange": "", "routing_key": "celery", "redelivered": False},
            "args": job.args,
            "kwargs": job.kwargs,
        }
        close_old_connections()
        try:
            # Celery's tracer logs a failure or a retry (names and ids only) and returns.
            tracer(job.task_id, job.args, job.kwargs, request)
        finally:
            close_old_connections()

    def _tracer(self, name: str) -> Callable[..., Any] | None:
        tracer = self._tracers.get(name)
        if tracer is not None:
            return tracer
        from celery.app.trace import build_tracer

        if name not in self.app.tasks:
            # Autodiscovery is lazy: a web process may not have imported every tasks module.
            self.app.loader.import_default_modules()
        task = self.app.tasks.get(name)
        if task is None:
            return None
        tracer = build_tracer(
            name, task, app=self.app, hostname=self.hostname, eager=False, propagate=False
        )
        self._tracers[name] = tracer
        return tracer


# --- the process's worker ------------------------------------------------------------------
_lock = threading.Lock()
_current: InProcessWorker | None = None
# Set when the server shut its background work down: a task sent after that (a retry from a
# task finishing during the stop) goes to the stopped worker, which drops it, instead of
# starting a new worker in a process that is ending.
_closed = False


def worker_start(app: Celery | None = None, *, threads: int | None = None) -> InProcessWorker:
    """The process's in-process worker, started if it is not running (after a fork too)."""
    global _current, _closed
    with _lock:
        _closed = False
        return _running_or_new(app, threads)


def worker_for_task(app: Celery) -> InProcessWorker:
    """Where a task sent now goes: the running worker, else a new one (a process other than
    ``manage.py serve`` starts it with its first task), unless the server has shut down."""
    with _lock:
        if _closed and _current is not None:
            return _current
        return _running_or_new(app, None)


def _running_or_new(app: Celery | None, threads: int | None) -> InProcessWorker:
    global _current
    from django.conf import settings

    current = _current
    if current is not None and current.pid == os.getpid() and current.alive:
        return current
    if app is None:
        from scrm.celery import app as default_app

        app = default_app
    current = InProcessWorker(app, threads=threads or settings.SCRM_WORKER_THREADS)
    current.start()
    _current = current
    return current


def worker_stop(timeout: float = 10.0) -> None:
    """Stop the process's worker (if any): tasks due now finish, countdowns are dropped."""
    global _current
    current = _current
    if current is not None and current.pid == os.getpid():
        current.stop(timeout)
    with _lock:
        if _current is current and not _closed:
            _current = None


def background_stop() -> None:
    """Stop the embedded mode's background work: the scheduler first (nothing new is sent),
    then the worker. Called at the ASGI server's shutdown and after ``manage.py serve``."""
    global _closed
    from django.conf import settings

    from scrm.scheduler import scheduler_stop

    with _lock:
        _closed = True
    scheduler_stop()
    worker_stop(timeout=settings.SCRM_WORKER_STOP_SECONDS)


# A management command or a WSGI server that sent tasks finishes those due before it exits.
atexit.register(worker_stop, 5.0)
