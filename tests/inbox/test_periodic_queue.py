"""The periodic jobs celery beat sends (the SLA sweep, audit sealing, the outbox sweep, ...) go to
a queue of their own, "periodic", so they do not wait behind a backlog of webhook processing in
the main queue; each expires after two periods (at least a minute), so ticks sent while the
worker was down are dropped instead of running back to back when it returns. A worker started
with the -Q of the release before (``celery,outbox``) still consumes them."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
import redis
from celery.beat import ScheduleEntry, Scheduler
from django.conf import settings

from inbox.tasks import process_webhook_events
from scrm.celery import app as celery_app
from scrm.celery import tick_expiry
from tests.inbox.test_delivery_crash import celery_worker
from tests.serve import wait_until

SEAL = "monitoring.tasks.audit_seal_sweep"


def beat_sends(name: str) -> None:
    """What celery beat does when the entry is due: its scheduler applies the entry."""
    entry = ScheduleEntry(app=celery_app, name=name, **celery_app.conf.beat_schedule[name])
    Scheduler(app=celery_app, lazy=True).apply_async(entry)


def test_every_sweep_is_queued_apart_from_a_backlog_and_expires(broker):
    # Given a backlog of webhook batches in the main queue
    for i in range(30):
        process_webhook_events.delay([10_000 + i])
    # When beat sends each of its periodic jobs
    sent = time.time()
    for name in celery_app.conf.beat_schedule:
        beat_sends(name)
    # Then each waits in the periodic queue, not behind the 30
    ticks = []
    while True:
        try:
            message = broker.queues["periodic"].get(timeout=0.5)
        except broker.queues["periodic"].Empty:
            break
        message.ack()
        ticks.append(message)
    assert {m.headers["task"] for m in ticks} == set(settings.SCRM_PERIODIC_TASKS)
    assert not {name for name, _ in broker.take("celery")} & set(settings.SCRM_PERIODIC_TASKS)
    # And each expires two periods after it was sent, at least a minute (a worker drops it
    # unrun after that): the audit seal's (every 5 s) after a minute
    for message in ticks:
        period = settings.SCRM_PERIODIC_TASKS[message.headers["task"]]
        expires = datetime.fromisoformat(message.headers["expires"]).timestamp()
        assert sent + max(2 * period, 60) - 1 <= expires <= time.time() + max(2 * period, 60) + 1
    assert tick_expiry(settings.SCRM_PERIODIC_TASKS[SEAL]) == 60


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.SERVICES_MODE, reason="needs the Redis broker (services mode)")
def test_a_worker_started_with_the_old_q_still_runs_the_sweeps(world, platform):
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete("periodic")
    # Given a worker started with the queues named before beat's ticks had their own
    worker = celery_worker(platform, "-P", "solo", "-Q", "celery,outbox")
    celery_app.conf.task_always_eager = False
    try:
        # When beat sends the audit-seal sweep
        beat_sends(SEAL)
        assert broker.llen("periodic") == 1
        # Then the worker takes it
        assert wait_until(lambda: broker.llen("periodic") == 0, timeout=60)
    finally:
        celery_app.conf.task_always_eager = True
        worker.kill()
        worker.wait(timeout=10)
        broker.delete("periodic")
        broker.close()
