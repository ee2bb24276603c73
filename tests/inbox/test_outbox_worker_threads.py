"""Deliveries on a worker of their own, in threads (docker/compose.yml's ``worker-outbox``).

A platform that answers slowly holds whatever runs a delivery for the whole call. In processes,
four deliveries at a time held the whole pool and, replies taken first, the webhooks waited
(docs/performance.md, issue 18); a delivery is a wait on the platform, so a worker of threads
(``-Q outbox -P threads``) runs many at once, beside the main worker's processes. The real
worker, broker and database, the simulator answering each send seconds late."""

from __future__ import annotations

import time

import pytest
import redis
from django.conf import settings
from django.db import connection

from inbox.models import Message
from inbox.tasks import deliver_outbox_action
from scrm.celery import app as celery_app
from tests.inbox.builders import pending_reply, reply_action, reply_attempts
from tests.inbox.test_delivery_crash import celery_worker
from tests.inbox.test_worker_db_pool import _session_pids, _sessions_dropped
from tests.serve import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SERVICES_MODE, reason="needs the Redis broker (services mode)"),
]

REPLIES = 6
LATE_S = 3.0  # each send answered this late


def _session_pids_of(conn) -> set[int]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return {cursor.fetchone()[0]}


def _state(reply: Message) -> str:
    reply.refresh_from_db()
    return reply.delivery_state


def test_a_thread_worker_delivers_slow_sends_at_once_and_each_once(world, platform, tmp_path):
    sim, shop = platform.sim, world.shop_a1
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete("celery", "outbox", "periodic")
    log = tmp_path / "worker.log"
    worker = None
    try:
        # Given six agents' replies, each in a conversation of its own, queued for delivery,
        # and a platform that takes each send three seconds to act on
        replies = []
        for i in range(REPLIES):
            conv_id, _ = sim.buyer_message(
                shop.platform_shop_id, buyer_user_id=f"bt{i}", nickname=f"B{i}", text="Where?"
            )
            sim.deliver_webhooks()
            conversation = shop.conversations.get(platform_conversation_id=conv_id)
            replies.append(pending_reply(conversation, f"On its way ({i}).", key=f"threads-{i}"))
        conv_id, _ = sim.buyer_message(
            shop.platform_shop_id, buyer_user_id="bt-late", nickname="L", text="And now?"
        )
        sim.deliver_webhooks()
        later = shop.conversations.get(platform_conversation_id=conv_id)  # replied to below
        sim.set_fault("/customer_service/", "delay", count=100, delay=LATE_S, method="POST")
        celery_app.conf.task_always_eager = False  # the webhooks above were processed eagerly
        for reply in replies:
            deliver_outbox_action.delay(reply_action(reply).id)
        ours = _session_pids()  # this test's (and its servers') sessions
        # When a worker of threads for deliveries alone starts
        worker = celery_worker(
            platform,
            *("-Q", "outbox", "-P", "threads", "-c", str(REPLIES), "-n", "outbox@%h"),
            *("--loglevel", "INFO", "--logfile", str(log)),
        )
        seen: dict[str, float] = {}  # message text: when the platform had it
        deadline = time.monotonic() + 60
        while len(seen) < REPLIES and time.monotonic() < deadline:
            for sent in sim.sent_messages(shop.platform_shop_id):
                seen.setdefault(sent["content"]["content"], time.monotonic())
            time.sleep(0.05)
        assert len(seen) == REPLIES, (seen, log.read_text() if log.exists() else "no log")
        # Then the sends waited on the platform together: one after another, the last would
        # come at least three seconds after the first
        assert max(seen.values()) - min(seen.values()) < LATE_S, seen
        # And each reply reached the platform once and is marked sent
        for reply in replies:
            assert wait_until(lambda r=reply: _state(r) == "sent", timeout=30), _state(reply)
        texts = [s["content"]["content"] for s in sim.sent_messages(shop.platform_shop_id)]
        assert sorted(texts) == sorted(r.text for r in replies)
        assert Message.objects.filter(direction="out", delivery_state="sent").count() == REPLIES
        assert "database pool" not in log.read_text()  # six threads, ten connections
        # And when the database drops the worker's pooled sessions (a restart), the next
        # delivery is sent once, the dead sessions found by the pool's check as it hands them
        # out: at most one retry (the pool waits between failed checks, and six of them can
        # outlast its ten seconds), not one for each dead session
        sim.clear_faults()
        late = pending_reply(later, "Now.", key="threads-late")
        assert _sessions_dropped(keep=ours | _session_pids_of(connection)) >= 1
        deliver_outbox_action.delay(reply_action(late).id)
        assert wait_until(lambda: _state(late) == "sent", timeout=30), log.read_text()
        assert reply_attempts(late).count() == 1
        sent = [s["content"]["content"] for s in sim.sent_messages(shop.platform_shop_id)]
        assert sent.count("Now.") == 1
        assert log.read_text().count(" retry: ") <= 1, log.read_text()
    finally:
        celery_app.conf.task_always_eager = True
        sim.clear_faults()
        if worker is not None:
            worker.kill()
            worker.wait(timeout=10)
        broker.delete("celery", "outbox", "periodic", "unacked", "unacked_index", "unacked_mutex")
        broker.close()


def test_a_thread_worker_with_fewer_connections_than_threads_says_so(
    platform, tmp_path, monkeypatch
):
    # Given a database pool of two connections a process
    monkeypatch.setenv("SCRM_DB_POOL_MAX", "2")
    log = tmp_path / "worker.log"
    # When a worker of four threads starts
    worker = celery_worker(
        platform,
        *("-Q", "outbox", "-P", "threads", "-c", "4", "-n", "outbox-small@%h"),
        *("--loglevel", "INFO", "--logfile", str(log)),
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "ready" not in (
            log.read_text() if log.exists() else ""
        ):
            time.sleep(0.1)
        text = log.read_text() if log.exists() else ""
        # Then it says at start how many connections it needs
        assert "runs 4 threads" in text and "SCRM_DB_POOL_MAX to 4 or more" in text, text
    finally:
        worker.kill()
        worker.wait(timeout=10)
