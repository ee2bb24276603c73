"""The periodic jobs celery beat sends (the SLA sweep, audit sealing, the outbox sweep, ...) go to
a queue of their own, "periodic", so they run on time behind a backlog of webhook processing in
the main queue; each expires after its own period, so ticks sent while the worker was down are
dropped instead of running back to back when it returns."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from celery.beat import ScheduleEntry, Scheduler
from django.conf import settings

from inbox.tasks import process_webhook_events
from scrm.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)
SEAL = "monitoring.tasks.audit_seal_sweep"


def beat_sends(name: str) -> None:
    """What celery beat does when the entry is due: its scheduler applies the entry."""
    entry = ScheduleEntry(app=celery_app, name=name, **celery_app.conf.beat_schedule[name])
    Scheduler(app=celery_app, lazy=True).apply_async(entry)


def test_a_sweep_is_queued_apart_from_a_backlog_and_expires_after_its_period(broker):
    # Given a backlog of webhook batches in the main queue
    for i in range(30):
        process_webhook_events.delay([10_000 + i])
    # When beat sends the audit-seal sweep (every 5 s)
    sent = time.time()
    beat_sends(SEAL)
    # Then it waits in the periodic queue, first in line there, not behind the 30
    message = broker.queues["periodic"].get(timeout=2)
    message.ack()
    assert message.headers["task"] == SEAL
    assert all(name != SEAL for name, _ in broker.take("celery"))
    # And it expires once its period has passed (a worker drops it unrun after that)
    expires = datetime.fromisoformat(message.headers["expires"]).timestamp()
    period = settings.SCRM_PERIODIC_TASKS[SEAL]
    assert sent + period - 1 <= expires <= time.time() + period + 1


def test_every_periodic_job_goes_to_the_periodic_queue():
    schedule = celery_app.conf.beat_schedule
    assert set(schedule) == set(settings.SCRM_PERIODIC_TASKS)
    for name, entry in schedule.items():
        assert entry["options"] == {"queue": "periodic", "expires": entry["schedule"]}, name
