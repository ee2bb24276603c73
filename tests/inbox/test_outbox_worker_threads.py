"""Deliveries on a worker of their own, in threads (docker/compose.yml's ``worker-outbox``).

A platform that answers slowly holds whatever runs a delivery for the whole call. In processes,
four deliveries at a time held the whole pool and, replies taken first, the webhooks waited
(docs/performance.md, issue 18); a delivery is a wait on the platform, so a worker of threads
(``-Q outbox -P threads``) runs many at once, beside the main worker's processes. The real
worker, broker and database, the simulator answering each send seconds late."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from inbox.models import Message
from inbox.tasks import deliver_outbox_action
from scrm.celery import app as celery_app
from tests.inbox.builders import pending_reply, reply_action, reply_attempts
from tests.inbox.test_delivery_crash import celery_worker, kill, log_text, workers_on_the_broker
from tests.inbox.test_worker_db_pool import _session_pids, _sessions_dropped
from tests.serve import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SERVICES_MODE, reason="needs the Redis broker (services mode)"),
]

REPLIES = 8
LATE_S = 3.0  # each send answered this late


def _state(reply: Message) -> str:
    reply.refresh_from_db()
    return reply.delivery_state


def test_a_thread_worker_delivers_slow_sends_at_once_and_each_once(world, platform, tmp_path):
    sim, shop = platform.sim, world.shop_a1
    log = tmp_path / "worker.log"
    with workers_on_the_broker() as run:
        # Given eight agents' replies, each in a conversation of its own, queued for delivery,
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
        run.start(
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
        assert len(seen) == REPLIES, (seen, log_text(log))
        # Then the sends waited on the platform together: one after another, the last would
        # come 21 s after the first (the slack is for the pool's connections, opened one by one)
        assert max(seen.values()) - min(seen.values()) < (REPLIES - 1) * LATE_S / 2, seen
        # And each reply reached the platform once and is marked sent
        for reply in replies:
            assert wait_until(lambda r=reply: _state(r) == "sent", timeout=30), _state(reply)
        texts = [s["content"]["content"] for s in sim.sent_messages(shop.platform_shop_id)]
        assert sorted(texts) == sorted(r.text for r in replies)
        assert Message.objects.filter(direction="out", delivery_state="sent").count() == REPLIES
        assert "database pool" not in log_text(log)  # eight threads, ten connections
        # And when the database drops the worker's eight pooled sessions (a restart), the next
        # delivery is sent, once: the pool's check finds the dead sessions as it hands them out
        # (waiting 1, 2, 4 s between failed checks: a try may run out of its ten seconds and
        # be retried), never handing a dead one to the task
        sim.clear_faults()
        late = pending_reply(later, "Now.", key="threads-late")
        assert _sessions_dropped(keep=ours) >= 1
        deliver_outbox_action.delay(reply_action(late).id)
        assert wait_until(lambda: _state(late) == "sent", timeout=60), log_text(log)
        assert reply_attempts(late).count() == 1
        sent = [s["content"]["content"] for s in sim.sent_messages(shop.platform_shop_id)]
        assert sent.count("Now.") == 1


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
        assert wait_until(lambda: " ready." in log_text(log), timeout=30), log_text(log)
        # Then it says at start how many connections it needs
        text = log_text(log)
        assert "runs 4 threads" in text and "SCRM_DB_POOL_MAX to 4 or more" in text, text
    finally:
        kill(worker)


def test_a_delivery_is_retried_when_the_database_is_down_too(platform, tmp_path, monkeypatch):
    """The task records its retry's time on the action's row before retrying; with the database
    unreachable that record fails too, and the retry must be queued all the same (it escaped
    the task, which was acknowledged and gone until the outbox sweep's next pass)."""
    monkeypatch.setenv("SCRM_DB_POOL_MIN", "0")
    monkeypatch.setenv("SCRM_DB_POOL_TIMEOUT_SECONDS", "1")  # each failure said in a second
    log = tmp_path / "worker.log"
    with workers_on_the_broker() as run:
        celery_app.conf.task_always_eager = False
        deliver_outbox_action.delay(987_654)
        # Given a worker whose database refuses every connection
        run.start(
            platform,
            *("-Q", "outbox", "-P", "solo", "-n", "outbox-nodb@%h"),
            *("--loglevel", "INFO", "--logfile", str(log)),
            database_url="postgres://postgres@127.0.0.1:1/nowhere",
        )
        # When it takes the delivery, the try and the record of its retry both fail
        assert wait_until(lambda: " retry: " in log_text(log), timeout=60), log_text(log)
        text = log_text(log)
        # Then the retry is queued (and said so), not the task failed and gone
        assert "next attempt not recorded: OperationalError" in text, text
        assert "raised unexpected" not in text, text
