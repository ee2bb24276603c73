"""The Celery app. Settings come from Django's (CELERY_* names); tasks are found in the apps.

In embedded mode tasks go to the in-process worker (``scrm.worker``) instead of a broker; in
services mode to Redis, for ``celery -A scrm worker``.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

from celery import Celery
from celery.result import AsyncResult
from celery.signals import celeryd_after_setup
from celery.utils import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings")
logger = logging.getLogger(__name__)


class App(Celery):
    """Celery whose ``send_task`` (where ``delay``, ``apply_async`` and ``retry`` all end) hands
    the task to the in-process worker when ``settings.SCRM_IN_PROCESS_WORKER`` is on."""

    def send_task(
        self,
        name: str,
        args: Any = None,
        kwargs: Any = None,
        countdown: float | None = None,
        eta: datetime | str | None = None,
        task_id: str | None = None,
        **options: Any,
    ) -> AsyncResult:
        from django.conf import settings

        if not settings.SCRM_IN_PROCESS_WORKER:
            return super().send_task(
                name, args, kwargs, countdown=countdown, eta=eta, task_id=task_id, **options
            )
        from scrm.worker import worker_for_task

        if any(options.get(name) for name in ("link", "link_error", "chain", "chord", "group_id")):
            # Callbacks and canvas need a result backend and Celery's worker; no task uses them.
            raise NotImplementedError("the in-process worker runs single tasks only")
        task_id = task_id or uuid()
        if isinstance(eta, str):
            eta = datetime.fromisoformat(eta)
        worker_for_task(self).submit(
            name,
            args,
            kwargs,
            task_id=task_id,
            countdown=countdown,
            eta=eta,
            retries=int(options.get("retries") or 0),
            root_id=options.get("root_id"),
            parent_id=options.get("parent_id"),
        )
        result_cls = options.get("result_cls") or self.AsyncResult
        return result_cls(task_id)


# Celery's Django fix-up but for the database pool, which it would close around every task
# in a prefork worker (scrm/celery_fixup.py).
app = App("scrm", fixups=["scrm.celery_fixup:fixup"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_after_setup.connect
def _consume_the_ticks(sender: str, instance: Any, **kwargs: object) -> None:
    """A worker told to consume the main queue but not "periodic" (``-Q celery,outbox``, as
    workers were started before beat's ticks had a queue of their own) consumes it too, and
    says so: otherwise no sweep would run (SLA alerts, audit sealing, the outbox's recovery)
    and the ticks would pile up in Redis. A worker given other queues only (``-Q outbox``, a
    pool of its own for deliveries) is left as told."""
    queues = instance.app.amqp.queues
    consumed = {queue.name for queue in queues.consume_from.values()}
    if "celery" in consumed and "periodic" not in consumed:
        queues.select_add("periodic")
        logger.warning(
            "this worker consumes the queue 'celery' but was not told 'periodic' (-Q): it "
            "consumes 'periodic' too, where celery beat sends the sweeps; name it in -Q "
            "(-Q celery,periodic beside a worker for -Q outbox, or -Q celery,outbox,periodic)"
        )
    _queues_in_priority_order(queues.consume_from)


@celeryd_after_setup.connect
def _enough_connections_for_threads(sender: str, instance: Any, **kwargs: object) -> None:
    """A worker of threads (``-P threads``: deliveries, docker/compose.yml's ``worker-outbox``)
    shares its process's database pool: each running task holds a connection until it ends, its
    wait on the platform included, so more threads than ``SCRM_DB_POOL_MAX`` wait for one
    (``SCRM_DB_POOL_TIMEOUT_SECONDS``, then the task fails and is retried). Said at start (once
    the worker's log is set up), not found under load."""
    from django.conf import settings

    pool_cls = getattr(instance, "pool_cls", None)  # a class from the command line, or a name
    name = pool_cls if isinstance(pool_cls, str) else getattr(pool_cls, "__module__", "")
    if "thread" not in name:
        return
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    threads = int(getattr(instance, "concurrency", 0) or 0)
    if isinstance(pool, dict) and threads > int(pool.get("max_size", threads)):
        logger.warning(
            "this worker runs %d threads and its database pool holds at most %d connections: "
            "set SCRM_DB_POOL_MAX to %d or more (docs/configuration.md)",
            threads,
            pool["max_size"],
            threads,
        )


QUEUE_PRIORITY = ("outbox", "periodic")  # then the rest ("celery"), as named


def _queues_in_priority_order(consume_from: dict[str, Any]) -> None:
    """The queues a worker consumes, in the order it takes from them: deliveries to the
    platform (an agent's reply) first, then beat's ticks, then the main queue, whatever the
    order given to -Q. The broker's ``queue_order_strategy`` is ``priority``
    (``CELERY_BROKER_TRANSPORT_OPTIONS``): a free worker process takes from the first queue
    that holds a task. Taken in turn, a reply waited for every other task to be a webhook
    batch's, and under a backlog of batches of up to 50 events replies queued for minutes
    (docs/performance.md, issue 18). The trade-off: while deliveries wait, the main queue waits.
    They are what agents send and what the outbox sweep queues again after an outage, so the
    wait is usually short; but a platform answering slowly holds every process on deliveries
    (as it did, nearly, when taken in turn): a deployment that must keep ingestion going then
    runs a worker of its own for ``-Q outbox`` (docs/configuration.md)."""
    rank = {name: i for i, name in enumerate(QUEUE_PRIORITY)}
    ordered = sorted(consume_from.items(), key=lambda item: rank.get(item[0], len(rank)))
    consume_from.clear()
    consume_from.update(ordered)


@app.on_after_finalize.connect
def _beat_schedule(sender: Celery, **kwargs: object) -> None:
    # One schedule for both modes: celery beat reads it here, scrm.scheduler in embedded mode.
    from django.conf import settings

    # Beat's ticks on a queue of their own (settings.py, by CELERY_TASK_QUEUES): not behind a
    # backlog of the main queue, and never piled up behind a stopped worker.
    sender.conf.beat_schedule = {
        name: {
            "task": name,
            "schedule": seconds,
            "options": {"queue": "periodic", "expires": tick_expiry(seconds)},
        }
        for name, seconds in settings.SCRM_PERIODIC_TASKS.items()
    }


def tick_expiry(period: float) -> float:
    """Seconds after which a tick not yet started is dropped: two periods, and at least a
    minute, so a tick that waits for a free worker process behind long tasks (or a few
    seconds of clock skew between beat's host and the worker's) still runs, while the ticks
    of a stopped worker do not run back to back when it returns."""
    return max(2 * period, 60.0)
