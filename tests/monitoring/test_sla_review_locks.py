"""Review of issue 14 (PostgreSQL): the sweep's automatic assignment never waits on a
conversation another transaction holds (that one may be waiting on the sweep's deadlines:
ingestion locks the conversation, then its deadlines; the sweep holds the deadlines)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction

from inbox.models import AssignmentMode, Conversation
from inbox.services.presence import presence_connect
from monitoring.models.sla import SlaAlert
from monitoring.sla.sweep import sla_sweep
from tests.inbox.builders import conversation_with_messages
from tests.monitoring.sweep_builders import T0, deadline_for, told

pytestmark = pytest.mark.django_db(transaction=True)

DUE = T0 + timedelta(hours=24)


def _hold(conversation_id: int, locked: threading.Event, release: threading.Event) -> None:
    try:
        with transaction.atomic():
            Conversation.objects.select_for_update().filter(id=conversation_id).exists()
            locked.set()
            release.wait(timeout=30)
    finally:
        connections.close_all()


def test_a_warning_for_a_conversation_locked_elsewhere_escalates_without_waiting(world):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    # Given a round-robin shop with an agent online and an unassigned conversation whose
    # warning has come, while another transaction (a buyer's message stored) holds its row
    world.shop_a1.assignment_mode = AssignmentMode.ROUND_ROBIN
    world.shop_a1.save(update_fields=["assignment_mode"])
    presence_connect(user_id=world.agent_a1.pk)
    conversation = conversation_with_messages(world.shop_a1)
    Conversation.objects.filter(id=conversation.id).update(assignee=None)
    deadline = deadline_for(conversation, due_at=DUE)
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold, args=(conversation.id, locked, release))
    holder.start()
    assert locked.wait(timeout=10)
    try:
        # When the sweep runs (a lock wait past 3 s fails it rather than hanging the test)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        sla_sweep(now=DUE - timedelta(hours=4))
    finally:
        release.set()
        holder.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    # Then the warning is recorded and escalated to the shop's agents and the supervisors
    alert = SlaAlert.objects.get(deadline=deadline)
    assert alert.escalated is True
    assert told(deadline, "warning", 240) == {world.agent_a1.pk, world.supervisor_a.pk}
    assert Conversation.objects.get(id=conversation.id).assignee_id is None
