"""Two sweeps racing on PostgreSQL, in two processes with their own connections, released
together by a barrier: every deadline and threshold is alerted exactly once, with one receipt
and one ``sla.alert`` per person."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection

from inbox.models import Conversation
from monitoring.models.sla import AlertReceipt, SlaAlert
from tests.inbox.builders import conversation_with_messages
from tests.monitoring.race_child import sweep_in_child
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
