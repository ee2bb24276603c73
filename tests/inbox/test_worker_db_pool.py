"""A prefork Celery worker keeps its process's database pool from one task to the next
(``scrm.celery_fixup``): Celery's own Django fix-up closed the pool around every task, so each
task connected new PostgreSQL sessions and closed them again (celery/celery#10554). A session
the database dropped while it waited in the pool is replaced, not handed to a task."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from inbox.models import WebhookEvent
from inbox.tasks import process_webhook_events
from scrm.celery import app as celery_app
from tests.inbox.test_delivery_crash import celery_worker
from tests.inbox.test_webhook_handlers import _new_conversations
from tests.serve import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SERVICES_MODE, reason="a prefork worker on the Redis broker"),
]

TASKS = 10


def _sessions() -> int:
    """Sessions PostgreSQL has opened on this database so far (its cumulative statistics)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def _session_pids() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return {pid for (pid,) in cursor.fetchall()}


def _sessions_dropped(keep: set[int]) -> int:
    """Drop the sessions on this database but ``keep``'s, as a database restart drops them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND NOT pid = ANY(%s)",
            [sorted(keep)],
        )
        return int(cursor.fetchone()[0])


def test_a_prefork_workers_tasks_share_its_database_sessions(world, platform):
    import redis

    # Given ten buyers' notifications, each to be processed by a task of its own
    ids = _new_conversations(platform, world.shop_a1, [f"pool{n}" for n in range(TASKS)])
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete("celery", "unacked", "unacked_index")
    ours = _session_pids()  # this test's own sessions
    # And a real prefork worker of one process, as services mode runs it
    worker = celery_worker(platform, "-P", "prefork", "-c", "1")
    celery_app.conf.task_always_eager = False
    try:
        # Once it has processed one (its process's pool opened)
        process_webhook_events.delay(ids[:1])
        assert wait_until(
            lambda: WebhookEvent.objects.filter(id=ids[0], status="processed").exists(),
            timeout=60,
        ), "the worker never processed the first task"
        # And the database dropped the sessions its pool keeps (a restart, an idle timeout)
        assert _sessions_dropped(keep=ours) >= 1
        before = _sessions()
        # When it runs the nine others, one after another
        for event_id in ids[1:]:
            process_webhook_events.delay([event_id])
        assert wait_until(
            lambda: WebhookEvent.objects.filter(id__in=ids, status="processed").count() == TASKS,
            timeout=60,
        ), "the worker did not process every task"
        # Then none failed on a dropped session, and they ran on the few sessions its pool
        # replaced them with: Celery's own fix-up connected two new ones for each task (the
        # pool's minimum) and closed them at its end
        worker.terminate()
        worker.wait(timeout=30)
        assert _sessions() - before < TASKS - 1
    finally:
        celery_app.conf.task_always_eager = True
        if worker.poll() is None:
            worker.kill()
        broker.delete("celery", "unacked", "unacked_index")
