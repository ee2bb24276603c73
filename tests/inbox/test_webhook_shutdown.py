"""A web server stopped right after acknowledging webhooks still queues their processing.

The ack path hands each stored event's id to a batcher that queues one task per batch a moment
later (``SCRM_WEBHOOK_LINGER_SECONDS``). A worker process of ``uvicorn --workers N`` ends with
``os._exit`` and runs no ``atexit`` handler: at every restart the ids it held were left for the
stale sweep, minutes later. The ASGI lifespan's shutdown now hands them over first
(``scrm.batching.batchers_drain``)."""

from __future__ import annotations

import time

import pytest

from tests.inbox.test_webhook_batches_behind import _post_spaced
from tests.serve import free_port, serve_process, services_env, services_only, wait_listening

pytestmark = [
    services_only("several web workers need Redis and PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def test_a_server_stopped_after_its_acks_queues_every_acknowledged_event(world, platform, broker):
    port = free_port()
    env = services_env(
        WEB_CONCURRENCY="2",  # worker processes: multiprocessing children, as deployed
        SCRM_WEBHOOK_LINGER_SECONDS="60",  # nothing is handed over unless the server drains
    )
    process, log = serve_process(port, env, "scrm-shutdown-")
    try:
        wait_listening(process, port, log, timeout=30)
        # Given five buyers' notifications acknowledged by the server
        acked = _post_spaced(port, world.shop_a1, platform.sim, "late", 5, 0.0, log)
        # When it is stopped at once (a deploy's SIGTERM), long before its batch would go
        stopped = time.monotonic()
        process.terminate()
        process.wait(timeout=30)
        took = time.monotonic() - stopped
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    # Then every acknowledged event is queued for processing, none twice, and the shutdown did
    # not wait out the batch's linger
    queued = [
        event_id
        for task, args in broker.take("celery", wait=1.0)
        if task == "inbox.tasks.process_webhook_events"
        for event_id in args[0]
    ]
    assert sorted(queued) == sorted(acked), log.read_text()
    assert took < 30
