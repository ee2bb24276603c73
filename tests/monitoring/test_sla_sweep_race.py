"""Sweeps in processes of their own on PostgreSQL: two racing, released together by a
barrier, alert every deadline and threshold exactly once, with one receipt and one
``sla.alert`` per person; a worker killed inside its sweep's transaction leaves nothing, and
the next sweep sends."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection

from inbox.models import Conversation
from monitoring.models.sla import AlertReceipt, SlaAlert
from tests.inbox.builders import conversation_with_messages
from tests.monitoring.race_child import sweep_alone, sweep_in_child
from tests.monitoring.sweep_builders import T0, alert_events, deadline_for, last_event_id

pytestmark = pytest.mark.django_db(transaction=True)

DUE = T0 + timedelta(hours=24)
DEADLINES = 60


def _race(now) -> list:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    database = connection.settings_dict["NAME"]
    children = [
        ctx.Process(target=sweep_in_child, args=(database, barrier, results, now)) for _ in "ab"
    ]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=180) for _ in children]
    for child in children:
        child.join(timeout=30)
    return outcomes


def test_two_sweeps_racing_alert_each_threshold_exactly_once(world):
    if connection.vendor != "postgresql":
        pytest.skip("the race is PostgreSQL's (SQLite serialises writers)")
    # Given 60 assigned conversations whose deadlines' 4 h warning and breach have both come
    deadlines = []
    for _ in range(DEADLINES):
        conversation = conversation_with_messages(world.shop_a1)
        Conversation.objects.filter(id=conversation.id).update(assignee=world.agent_a1)
        deadlines.append(deadline_for(conversation, due_at=DUE, warnings=[240]))
    start = last_event_id()
    # When two processes sweep at the same instant, then again at the breach
    first = _race(DUE - timedelta(hours=3))
    second = _race(DUE + timedelta(minutes=1))
    # Then each process finished, and between them every alert was recorded and told once
    for outcome in first + second:
        assert isinstance(outcome, tuple), outcome
    assert sum(recorded for recorded, _ in first) == DEADLINES
    assert sum(recorded for recorded, _ in second) == DEADLINES
    per_key = Counter(
        SlaAlert.objects.filter(deadline__in=deadlines).values_list("deadline_id", "kind")
    )
    assert len(per_key) == 2 * DEADLINES and set(per_key.values()) == {1}
    receipts = Counter(
        AlertReceipt.objects.filter(alert__deadline__in=deadlines).values_list(
            "alert_id", "user_id"
        )
    )
    # warnings: the assignee; breaches: the assignee and the supervisor
    assert len(receipts) == 3 * DEADLINES and set(receipts.values()) == {1}
    events = Counter((e.user_id, e.data["id"]) for e in alert_events(start))
    assert len(events) == 3 * DEADLINES and set(events.values()) == {1}


def test_a_worker_killed_inside_its_sweep_leaves_nothing_and_the_next_sweep_sends(world):
    if connection.vendor != "postgresql":
        pytest.skip("a second process on the test database: PostgreSQL")
    # Given a due deadline, and the database holding the sweep's first receipt (a sleep)
    conversation = conversation_with_messages(world.shop_a1)
    Conversation.objects.filter(id=conversation.id).update(assignee=world.agent_a1)
    deadline = deadline_for(conversation, due_at=DUE, warnings=[240])
    now = DUE - timedelta(hours=3)
    start = last_event_id()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION hold_receipts() RETURNS trigger AS $$ BEGIN "
            "PERFORM pg_sleep(120); RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER hold_receipts BEFORE INSERT ON monitoring_alertreceipt "
            "FOR EACH ROW EXECUTE FUNCTION hold_receipts()"
        )
    # When a worker's sweep is inside its transaction (alert inserted, receipt held) and the
    # worker is killed, its connection dying with it
    ctx = multiprocessing.get_context("spawn")
    worker = ctx.Process(target=sweep_alone, args=(connection.settings_dict["NAME"], now))
    worker.start()
    backend = _sleeping_backend()
    worker.kill()
    worker.join(timeout=30)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
        cursor.execute("DROP TRIGGER hold_receipts ON monitoring_alertreceipt")
    # Then nothing of its batch stayed: no alert, no receipt, no event, the threshold unmoved
    assert not SlaAlert.objects.filter(deadline=deadline).exists()
    assert alert_events(start) == []
    deadline.refresh_from_db()
    assert deadline.next_alert_at == DUE - timedelta(hours=4)
    # And the next sweep sends it, once
    from monitoring.sla.sweep import sla_sweep

    assert sla_sweep(now=now + timedelta(minutes=1)).sent == 1
    assert [e.user_id for e in alert_events(start)] == [world.agent_a1.pk]


def _sleeping_backend(timeout: float = 90.0) -> int:
    """The process id of the backend held in the receipt trigger's sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()"
            )
            row = cursor.fetchone()
        if row:
            return int(row[0])
        time.sleep(0.2)
    raise AssertionError("the worker's sweep never reached its receipts")
