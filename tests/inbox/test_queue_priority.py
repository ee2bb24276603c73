"""A worker takes an agent's reply (the "outbox" queue) and beat's ticks ("periodic") before the
main queue's webhook batches, whatever the order its -Q names them in.

Taken in turn, a reply waited behind every other task's webhook batch: in the soak at 100
messages/s, once batches grew to tens of events under a backlog, 600 deliveries queued and
replies took a minute and more to reach the platform."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from inbox.tasks import deliver_outbox_action, process_webhook_events
from scrm.celery import app as celery_app
from tests.inbox.test_delivery_crash import log_text as _text
from tests.inbox.test_delivery_crash import workers_on_the_broker
from tests.serve import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SERVICES_MODE, reason="needs the Redis broker (services mode)"),
]

RECEIVED = re.compile(r"Task inbox\.tasks\.(\w+)\[([^\]]+)\] received")


@pytest.mark.parametrize("order", ["celery,outbox,periodic", "outbox,periodic,celery"])
def test_a_worker_takes_the_replies_before_the_webhook_backlog(world, platform, tmp_path, order):
    log = tmp_path / "worker.log"
    with workers_on_the_broker() as run:
        celery_app.conf.task_always_eager = False
        # Given a backlog of webhook batches in the main queue, then five deliveries queued
        for i in range(20):
            process_webhook_events.delay([900_000 + i])
        for i in range(5):
            deliver_outbox_action.delay(900_000 + i)
        # When a worker of one process starts, its queues named in either order
        run.start(platform, "-P", "solo", "-Q", order, "--loglevel", "INFO", "--logfile", str(log))
        assert wait_until(lambda: run.broker.llen("celery") == 0, timeout=60), _text(log)

        def taken() -> list[str]:
            """Each task's name, in the order the worker first took it (a delivery of an
            unknown action is retried, and taken again later)."""
            first: dict[str, str] = {}
            for name, task_id in RECEIVED.findall(_text(log)):
                first.setdefault(task_id, name)
            return list(first.values())

        assert wait_until(lambda: len(taken()) >= 25, timeout=30), taken()
        # Then it took the five deliveries first (at most one batch it had already reserved
        # before them), not one in two
        names = taken()
        assert names.index("deliver_outbox_action") <= 1, names
        first_six = names[:6]
        assert first_six.count("deliver_outbox_action") == 5, names
