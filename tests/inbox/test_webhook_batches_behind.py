"""While the workers are behind, the web server's webhook batches gather longer.

Each acknowledged webhook's id joins a batch that becomes one processing task
(``inbox.tasks.queue_webhook_processing``). A task's fixed cost is paid per batch: at 100
deliveries/s the usual 50 ms made tasks of about five events, and once a backlog formed it kept
growing. While 20 or more tasks (five a worker process) wait in the workers' queue, a batch's
task would wait there anyway, so the batch gathers ``SCRM_WEBHOOK_LINGER_BEHIND_SECONDS``
instead and carries more events a task at no cost in lag, until fewer than half as many wait."""

from __future__ import annotations

import time

import httpx
import pytest

from inbox.tasks import WEBHOOK_BEHIND_TASKS, WEBHOOK_CAUGHT_UP_TASKS, process_webhook_events
from tests.inbox.test_webhook_handlers import _signed
from tests.serve import free_port, serve_process, services_env, services_only, wait_listening

pytestmark = [
    services_only("the queue's length is read from the Redis broker"),
    pytest.mark.django_db(transaction=True),
]


def _post_spaced(port, shop, sim, prefix: str, n: int, gap: float, log) -> list[int]:
    acked = []
    for i in range(n):
        conversation_id, message_id = sim.buyer_message(
            shop.platform_shop_id, buyer_user_id=f"{prefix}{i}", nickname="B", text="hello"
        )
        headers, body = _signed(
            shop,
            14,
            f"{prefix}-{i}",
            {"conversation_id": conversation_id, "message_id": message_id},
        )
        r = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/tiktok/", content=body, headers=headers, timeout=10
        )
        assert r.status_code == 200, log.read_text()
        acked.append(int(r.headers["X-SCRM-Event"]))
        time.sleep(gap)
    return acked


def _batches(broker) -> list[list[int]]:
    return [
        list(args[0])
        for task, args in broker.take("celery", wait=2.0)
        if task == "inbox.tasks.process_webhook_events" and args[0]
    ]


def test_batches_gather_longer_while_the_workers_are_behind(world, platform, broker):
    port = free_port()
    env = services_env(SCRM_WEBHOOK_LINGER_SECONDS="0.05", SCRM_WEBHOOK_LINGER_BEHIND_SECONDS="2.0")
    process, log = serve_process(port, env, "scrm-behind-")
    shop, sim = world.shop_a1, platform.sim
    try:
        wait_listening(process, port, log, timeout=30)
        # Given workers that keep up (nothing waits in their queue): webhooks 0.3 s apart each
        # go in a task of their own, 50 ms after their ack
        acked = _post_spaced(port, shop, sim, "now", 3, 0.3, log)
        assert _batches(broker) == [[event_id] for event_id in acked]
        # Given workers behind: tasks wait in their queue (no worker runs here)
        for _ in range(WEBHOOK_BEHIND_TASKS):
            process_webhook_events.delay([])
        time.sleep(1.2)  # the server reads the queue's length at most once a second
        # When three more webhooks arrive 0.3 s apart
        started = time.monotonic()
        acked = _post_spaced(port, shop, sim, "behind", 3, 0.3, log)
        # Then they go in one task, once the longer linger is out (not one a webhook)
        batches = _batches(broker)
        assert batches == [acked], log.read_text()
        assert time.monotonic() - started < 10
        # And while the queue falls but stays above half the line, they still gather (no
        # switching batch by batch about the line)
        for _ in range(WEBHOOK_CAUGHT_UP_TASKS + 1):
            process_webhook_events.delay([])
        time.sleep(1.2)
        acked = _post_spaced(port, shop, sim, "still", 2, 0.3, log)
        assert _batches(broker) == [acked], log.read_text()
        # And once the queue is empty again (the workers caught up), batches are quick again
        time.sleep(1.2)
        acked = _post_spaced(port, shop, sim, "again", 2, 0.3, log)
        assert _batches(broker) == [[event_id] for event_id in acked]
    finally:
        process.terminate()
        process.wait(timeout=30)
