"""A worker that dies mid-delivery never makes the buyer receive a reply twice.

The worker is a real process (``manage.py shell`` running the delivery task) killed with
SIGKILL; the simulator either records the send and answers late (the worker dies after the
platform acted) or waits before acting (the worker dies before it)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from inbox.models import Message
from inbox.platforms.tiktok_shop.adapter import SEND_MESSAGE_PATH
from tests.inbox.builders import deliver, pending_reply, reply_action, reply_attempts
from tests.serve import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def submitted_reply(platform, world) -> Message:
    conv_id, _ = platform.sim.buyer_message(
        world.shop_a1.platform_shop_id, buyer_user_id="b1", nickname="Mia", text="Refund?"
    )
    platform.sim.deliver_webhooks()
    conversation = world.shop_a1.conversations.get(platform_conversation_id=conv_id)
    # Given the agent's reply, stored and waiting for a worker
    return pending_reply(
        conversation, "Your refund is on its way.", key="crash-1", author=world.agent_a1
    )


def start_worker(action_id: int, base_url: str) -> subprocess.Popen:
    """A worker process running one outbox delivery (of any kind), to be killed or waited on."""
    env = dict(os.environ, TIKTOK_API_BASE=base_url, TIKTOK_AUTH_BASE=base_url)
    if settings.SERVICES_MODE:
        db = connection.settings_dict
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    else:
        env["SCRM_SQLITE_PATH"] = connection.settings_dict["NAME"]
    code = f"from inbox.tasks import deliver_outbox_action as d; d.apply(args=[{action_id}])"
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def expire_lease(reply: Message) -> None:
    """As if the lease time had passed since the dead worker's attempt started."""
    reply_attempts(reply).update(
        started_at=timezone.now() - timedelta(seconds=settings.SCRM_DELIVERY_LEASE_SECONDS + 1)
    )


def celery_worker(platform, *options: str, database_url: str | None = None) -> subprocess.Popen:
    """A real Celery worker (``celery -A scrm worker`` and ``options``) started by a test, on
    the test's database (services mode; or ``database_url``) and the platform's simulator; its
    output discarded."""
    db = connection.settings_dict
    env = dict(
        os.environ,
        TIKTOK_API_BASE=platform.server.base_url,
        TIKTOK_AUTH_BASE=platform.server.base_url,
        DATABASE_URL=database_url
        or f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "scrm", "worker", *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def log_text(log: Path) -> str:
    """A worker's log file so far ("" before it is written)."""
    return log.read_text() if log.exists() else ""


# The workers' queues, and kombu's bookkeeping of the tasks a worker holds unacknowledged (a
# killed worker's would be restored into a later test's queues).
BROKER_KEYS = ("celery", "outbox", "periodic", "unacked", "unacked_index", "unacked_mutex")


@dataclass
class WorkersRun:
    broker: Any  # a Redis client on the broker
    workers: list[subprocess.Popen] = field(default_factory=list)

    def start(self, platform, *options: str, database_url: str | None = None) -> None:
        self.workers.append(celery_worker(platform, *options, database_url=database_url))


@contextlib.contextmanager
def workers_on_the_broker() -> Iterator[WorkersRun]:
    """For a test of real workers on the Redis broker: the broker's queues empty before and
    after; the workers it starts (``run.start``) killed at the end, and tasks eager again,
    whatever the test switched off."""
    import redis

    from scrm.celery import app as celery_app

    run = WorkersRun(redis.Redis.from_url(settings.REDIS_URL))
    run.broker.delete(*BROKER_KEYS)
    try:
        yield run
    finally:
        celery_app.conf.task_always_eager = True
        for worker in run.workers:
            kill(worker)
        run.broker.delete(*BROKER_KEYS)
        run.broker.close()


def kill(worker: subprocess.Popen) -> None:
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)


def test_killed_after_the_platform_sent_it_is_not_sent_again(world, platform):
    sim, shop_id = platform.sim, world.shop_a1.platform_shop_id
    reply = submitted_reply(platform, world)
    path = SEND_MESSAGE_PATH.format(conversation_id=reply.conversation.platform_conversation_id)
    sim.set_fault(path, "delay_after", delay=30)  # act now, answer late
    worker = start_worker(reply_action(reply).id, platform.server.base_url)
    try:
        # When the platform has delivered the reply but the worker has not heard back, it dies
        assert wait_until(lambda: len(sim.sent_messages(shop_id)) == 1), "worker never sent"
        kill(worker)
    finally:
        if worker.poll() is None:
            kill(worker)
    reply.refresh_from_db()
    assert reply.delivery_state == "sending"
    assert reply_attempts(reply).get().finished_at is None
    sim.clear_faults()
    # The task comes back at once (acks_late: the broker redelivers it): the dead worker's
    # lease still holds, so nothing is sent
    assert deliver(reply) == "in_flight"
    assert len(sim.sent_messages(shop_id)) == 1
    # And once the lease has run out, the next run checks the platform instead of resending
    expire_lease(reply)
    assert deliver(reply) == "sent"
    # Then the buyer has it once, and our row carries the platform's id
    sent = sim.sent_messages(shop_id)
    assert len(sent) == 1
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"
    assert reply.platform_message_id == sent[0]["message_id"]
    assert list(reply_attempts(reply).order_by("id").values_list("outcome", flat=True)) == [
        "",
        "adopted",
    ]


def test_killed_before_the_platform_acted_sends_exactly_once(world, platform):
    sim, shop_id = platform.sim, world.shop_a1.platform_shop_id
    reply = submitted_reply(platform, world)
    path = SEND_MESSAGE_PATH.format(conversation_id=reply.conversation.platform_conversation_id)
    sim.set_fault(path, "delay", delay=30)  # wait before acting
    worker = start_worker(reply_action(reply).id, platform.server.base_url)
    try:
        assert wait_until(lambda: reply_attempts(reply).exists()), "worker never started"
        time.sleep(0.5)  # inside the platform's wait
        kill(worker)
    finally:
        if worker.poll() is None:
            kill(worker)
    sim.clear_faults()
    assert sim.sent_messages(shop_id) == []
    expire_lease(reply)
    assert deliver(reply) == "sent"
    assert len(sim.sent_messages(shop_id)) == 1
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"


def test_a_duplicate_task_during_a_delivery_does_not_send_again(world, platform):
    sim, shop_id = platform.sim, world.shop_a1.platform_shop_id
    reply = submitted_reply(platform, world)
    path = SEND_MESSAGE_PATH.format(conversation_id=reply.conversation.platform_conversation_id)
    sim.set_fault(path, "delay_after", delay=3)
    worker = start_worker(reply_action(reply).id, platform.server.base_url)
    try:
        assert wait_until(lambda: len(sim.sent_messages(shop_id)) == 1), "worker never sent"
        # When the sweep (or a redelivered task) runs the delivery again meanwhile
        assert deliver(reply) == "in_flight"
        # Then the first worker finishes the job alone
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            kill(worker)
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"
    assert len(sim.sent_messages(shop_id)) == 1
