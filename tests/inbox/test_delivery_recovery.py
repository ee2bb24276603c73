"""A reply whose worker died while its retry waited is delivered within minutes, once.

With a Redis broker, a worker holds a task waiting on a retry countdown unacknowledged in its
memory; killed, that task comes back only after the broker's visibility timeout (an hour). The
outbox records each reply's next attempt on its row and the stuck-delivery sweep goes by it.
"""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from inbox.models import Message, OutboxAction
from inbox.platforms.base import PlatformError
from inbox.platforms.tiktok_shop.adapter import SEND_MESSAGE_PATH
from inbox.services.outbox import outbox_stuck
from inbox.tasks import DELIVERY_MAX_RETRIES, backoff, deliver_outbox_action, sweep_outbox
from tests.inbox.builders import deliver, reply_action, reply_attempts
from tests.inbox.test_delivery_crash import celery_worker, submitted_reply
from tests.serve import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def send_path(reply: Message) -> str:
    return SEND_MESSAGE_PATH.format(conversation_id=reply.conversation.platform_conversation_id)


def test_a_reply_waiting_on_its_retry_is_left_alone_until_then(world, platform, settings):
    settings.SCRM_DELIVERY_SWEEP_GRACE_SECONDS = 15
    sim, shop_id = platform.sim, world.shop_a1.platform_shop_id
    reply = submitted_reply(platform, world)
    sim.set_fault(send_path(reply), "5xx", count=100)
    # Given a delivery that failed on a platform outage: the task schedules its retry
    before = timezone.now()
    action = reply_action(reply)
    with pytest.raises(PlatformError):
        deliver_outbox_action(action.id)  # called directly: the retry re-raises, not queues
    reply.refresh_from_db()
    assert reply.delivery_state == "sending"
    # Then the row knows when the next try is due (the first countdown is 1-2 s)
    action.refresh_from_db()
    assert before + timedelta(seconds=1) <= action.next_attempt_at
    assert action.next_attempt_at <= timezone.now() + timedelta(seconds=2)
    # And the sweep leaves it to its task until the grace period after that time has passed
    due = action.next_attempt_at
    assert action.id not in outbox_stuck(now=due + timedelta(seconds=14))
    assert action.id in outbox_stuck(now=due + timedelta(seconds=16))
    assert sim.sent_messages(shop_id) == []


def test_the_longest_wait_after_a_dead_worker_is_under_two_minutes(settings):
    # The longest retry countdown the task can record, plus the sweep's grace and its period:
    # a reply whose worker died during that countdown is queued again no later than this.
    longest_countdown = max(min(300.0, 2.0 * 2**retries) for retries in range(DELIVERY_MAX_RETRIES))
    assert all(
        backoff(r) <= longest_countdown for r in range(DELIVERY_MAX_RETRIES) for _ in "x" * 50
    )
    sweep_period = settings.SCRM_PERIODIC_TASKS["inbox.tasks.sweep_outbox"]
    worst = longest_countdown + settings.SCRM_DELIVERY_SWEEP_GRACE_SECONDS + sweep_period
    assert worst < 120, worst


def test_a_new_reply_whose_task_was_lost_goes_out_with_the_next_sweep(world, platform, settings):
    settings.SCRM_DELIVERY_SWEEP_GRACE_SECONDS = 0.2
    sim, shop_id = platform.sim, world.shop_a1.platform_shop_id
    # Given a reply submitted through the service, whose task the broker lost
    from inbox.services.replies import message_send

    conversation = submitted_reply(platform, world).conversation
    Message.objects.filter(conversation=conversation, direction="out").delete()
    from celery import current_app

    current_app.conf.task_always_eager = False
    try:
        # The task goes to a broker no worker reads (memory, or the CI Redis): as good as lost
        reply, _ = message_send(actor=world.agent_a1, conversation_id=conversation.id, text="Hi")
    finally:
        current_app.conf.task_always_eager = True
        current_app.control.purge()
    assert Message.objects.get(id=reply.id).delivery_state == "pending"
    # When the sweep runs a moment later
    time.sleep(0.4)
    assert sweep_outbox.apply().get() == 1
    # Then the buyer has the reply, once
    assert Message.objects.get(id=reply.id).delivery_state == "sent"
    assert len(sim.sent_messages(shop_id)) == 1


@pytest.mark.skipif(not settings.SERVICES_MODE, reason="needs the Redis broker (services mode)")
def test_a_worker_killed_during_a_retry_countdown_costs_seconds_not_an_hour(
    world, platform, settings
):
    import redis

    settings.SCRM_DELIVERY_SWEEP_GRACE_SECONDS = 0.5
    sim, shop_id = platform.sim, world.shop_a1.platform_shop_id
    reply = submitted_reply(platform, world)
    sim.set_fault(send_path(reply), "5xx", count=100)
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete("celery", "outbox", "unacked", "unacked_index")
    # Given a real Celery worker on the real broker, delivering the reply
    # The queues, as a worker started with -Q names them (deliveries go to "outbox")
    worker = celery_worker(platform, "-P", "solo", "-Q", "celery,outbox,periodic")
    from celery import current_app

    current_app.conf.task_always_eager = False
    try:
        deliver_outbox_action.delay(reply_action(reply).id)
        # When its first attempt fails and the retry waits in the worker's memory (taken from
        # the queue, not yet acknowledged: in the broker's unacked index), it dies
        assert wait_until(
            lambda: (
                OutboxAction.objects.filter(message=reply, next_attempt_at__isnull=False)
                .exclude(next_attempt_at__gt=timezone.now() + timedelta(seconds=60))
                .filter(attempts__outcome="retry")
                .exists()
            ),
            timeout=60,
        ), "the worker never tried"
        # The worker is stopped (SIGSTOP) before the broker is read, so what is read is what it
        # dies with: a retry that came due, ran and was queued again is briefly in the queue and
        # in no worker's hands; then it is let go on and caught again.
        held = False
        deadline = time.monotonic() + 30
        while not held and time.monotonic() < deadline:
            if broker.zcard("unacked_index") >= 1:
                worker.send_signal(signal.SIGSTOP)
                held = broker.zcard("unacked_index") >= 1 and broker.llen("outbox") == 0
                if not held:
                    worker.send_signal(signal.SIGCONT)
            if not held:
                time.sleep(0.05)
        assert held, "the worker never took the retry"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = time.monotonic()
    finally:
        current_app.conf.task_always_eager = True
        if worker.poll() is None:
            worker.kill()
    sim.clear_faults()
    # The retry is stranded in the broker (unacknowledged until the visibility timeout)
    assert broker.zcard("unacked_index") >= 1
    # Then the sweep, running as it does every period, delivers it soon after its retry time
    assert wait_until(lambda: sweep_outbox.apply().get() == 1, timeout=30)
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"
    assert len(sim.sent_messages(shop_id)) == 1
    assert time.monotonic() - killed_at < 10
    broker.delete("celery", "outbox", "unacked", "unacked_index")


def test_the_sweep_queues_a_late_reply_once_per_lease_not_every_run(world, platform, settings):
    from inbox.services.outbox import outbox_stuck_claim

    settings.SCRM_DELIVERY_SWEEP_GRACE_SECONDS = 15
    reply = submitted_reply(platform, world)
    # Given a reply whose task is behind a backlog: due a minute ago
    due = timezone.now() - timedelta(minutes=1)
    action = reply_action(reply)
    OutboxAction.objects.filter(id=action.id).update(next_attempt_at=due)
    # When the sweep runs twice, 30 s apart, before the queued task got its turn
    now = timezone.now()
    first = outbox_stuck_claim(now=now)
    second = outbox_stuck_claim(now=now + timedelta(seconds=30))
    # Then it was queued once: the first run claimed it for a lease
    assert first == [action.id]
    assert second == []
    # And once the lease is over with the reply still undelivered, it is queued again
    later = now + timedelta(seconds=settings.SCRM_DELIVERY_LEASE_SECONDS + 16)
    assert outbox_stuck_claim(now=later) == [action.id]


def test_a_reply_in_a_shop_without_credentials_fails_at_once_and_visibly(world, platform):
    from inbox.models import ShopAccount

    reply = submitted_reply(platform, world)
    # Given the shop lost its credentials (never connected, or wiped by an operator)
    ShopAccount.objects.filter(id=world.shop_a1.id).update(credentials={})
    # When the delivery runs
    outcome = deliver(reply)
    # Then the reply is failed with a reason the agent can act on, not left "sending"
    reply.refresh_from_db()
    assert outcome == "failed"
    assert reply.delivery_state == "failed"
    assert "authorisation" in reply.failure_reason
    assert reply_attempts(reply).filter(finished_at__isnull=True).count() == 0


def test_a_reply_retried_the_day_after_gets_a_day_of_its_own(world, platform, api):
    from inbox.services.outbox import outbox_give_up_stale
    from tests.inbox.test_outbox import tasks_lost

    sim = platform.sim
    reply = submitted_reply(platform, world)
    # Given a reply that failed two days ago (the shop was disconnected then, say)
    action = reply_action(reply)
    two_days_ago = timezone.now() - timedelta(days=2)
    sim.set_fault(send_path(reply), "5xx", count=100)
    OutboxAction.objects.filter(id=action.id).update(
        state="failed", created_at=two_days_ago, opened_at=two_days_ago
    )
    Message.objects.filter(id=reply.id).update(delivery_state="failed", failure_reason="x")
    # When the agent retries it today and the platform is still failing (the task backs off)
    with tasks_lost():
        r = api.as_user(world.agent_a1).post(
            f"/api/v1/conversations/{reply.conversation_id}/messages/{reply.id}/retry/"
        )
    assert r.status_code == 202, r.content
    with pytest.raises(PlatformError):
        deliver_outbox_action(action.id)  # called directly: the retry re-raises, not queues
    # Then the give-up leaves it alone: its day counts from the retry, not from its creation
    assert outbox_give_up_stale() == 0
    reply.refresh_from_db()
    assert reply.delivery_state == "sending"
    # And a day after the retry it is given up, visibly
    assert outbox_give_up_stale(now=timezone.now() + timedelta(hours=25)) == 1
    reply.refresh_from_db()
    assert reply.delivery_state == "failed"


def test_a_reply_sent_whose_record_deadlocked_is_adopted_by_the_retry_at_once(world, platform):
    if connection.vendor != "postgresql":
        pytest.skip("the failure is injected with a PostgreSQL trigger")
    sim, shop_id = platform.sim, world.shop_a1.platform_shop_id
    reply = submitted_reply(platform, world)
    # Given the platform takes the reply but recording it as sent deadlocks, once (as two
    # deliveries of one case did in CI)
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE fail_sent_once")
        cursor.execute(
            "CREATE FUNCTION fail_sent_once() RETURNS trigger AS $$ BEGIN "
            "IF NEW.state = 'sent' AND nextval('fail_sent_once') = 1 THEN "
            "RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER fail_sent_once BEFORE UPDATE ON inbox_outboxaction "
            "FOR EACH ROW EXECUTE FUNCTION fail_sent_once()"
        )
    try:
        # When its delivery task runs (eager: the retry runs at once, as a worker's would)
        state = deliver(reply)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER fail_sent_once ON inbox_outboxaction")
            cursor.execute("DROP FUNCTION fail_sent_once()")
            cursor.execute("DROP SEQUENCE fail_sent_once")
    # Then the retry recorded the platform's answer the first attempt kept, at once: without
    # waiting for the lease, without sending it again
    assert state == "sent"
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"
    assert len(sim.sent_messages(shop_id)) == 1
    attempts = list(reply_attempts(reply).order_by("started_at").values("outcome", "result"))
    assert [a["outcome"] for a in attempts] == ["error", "adopted"]
    assert attempts[0]["result"] and attempts[0]["result"] == reply_action(reply).result
    assert reply.platform_message_id == sim.sent_messages(shop_id)[0]["message_id"]
