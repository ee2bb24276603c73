"""The same-day digest at the end of each shop's working day (shop time, its calendar): once
per shop and local day, to the supervisors only, counts and ids only; and the periodic tasks
that run the sweep and the digest every minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from inbox.models import Conversation
from monitoring.events import SLA_ALERT
from monitoring.models.sla import AlertReceipt, SlaAlert
from monitoring.sla.digest import sla_digest
from scrm.events import payload_check
from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision
from tests.monitoring.sweep_builders import alert_events, deadline_for, last_event_id

pytestmark = pytest.mark.django_db

# Shop a1 works in Los Angeles, Monday to Friday 09:00-18:00 (the default calendar).
FRIDAY_END = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # Fri 27 Nov 18:00 PST
FRIDAY = FRIDAY_END.date() - timedelta(days=1)


def a1_digests(world):
    return list(SlaAlert.objects.filter(kind="digest", shop_account=world.shop_a1))


@pytest.fixture
def a1(world):
    world.shop_a1.time_zone = "America/Los_Angeles"
    world.shop_a1.save(update_fields=["time_zone"])
    return world.shop_a1


def test_digest_at_the_end_of_the_shops_day_once_to_its_supervisors(world, a1):
    # Given shop a1 with two conversations (one held by agent_a1) and a case still open
    held = conversation_with_messages(a1)
    Conversation.objects.filter(id=held.id).update(assignee=world.agent_a1)
    loose = conversation_with_messages(a1)
    case = case_needing_decision(a1)
    deadline_for(held, due_at=FRIDAY_END - timedelta(hours=2))
    deadline_for(held, due_at=FRIDAY_END, kind="same_day")
    deadline_for(loose, due_at=FRIDAY_END + timedelta(hours=20))
    deadline_for(case, due_at=FRIDAY_END + timedelta(hours=20))
    start = last_event_id()
    # When the digest runs a minute before the shop's day ends, then at its end, then again
    sla_digest(now=FRIDAY_END - timedelta(minutes=1))
    assert a1_digests(world) == []
    sla_digest(now=FRIDAY_END)
    sla_digest(now=FRIDAY_END + timedelta(minutes=1))
    # Then one digest for Friday (shop time), with the counts by holder and ids only
    [digest] = a1_digests(world)
    assert digest.digest_date == FRIDAY
    assert digest.data == {
        "open_count": 3,
        "by_holder": {str(world.agent_a1.pk): 1, "unassigned": 2},
        "overdue_deadlines": 1,
        "conversation_ids": [held.id, loose.id],
        "case_ids": [case.id],
    }
    # Told to org A's supervisor only (no agent, nobody of org B), once, live
    receipts = AlertReceipt.objects.filter(alert=digest).values_list("user_id", flat=True)
    assert set(receipts) == {world.supervisor_a.pk}
    events = [e for e in alert_events(start) if e.data["id"] == digest.id]
    assert [e.user_id for e in events] == [world.supervisor_a.pk]
    payload_check(SLA_ALERT, events[0].data)
    assert events[0].data["open_count"] == 3
    assert events[0].data["digest_date"] == "2026-11-27"


def test_a_day_missed_while_workers_were_down_is_sent_when_they_return(world, a1):
    sla_digest(now=FRIDAY_END + timedelta(hours=3))
    assert [d.digest_date for d in a1_digests(world)] == [FRIDAY]


def test_too_late_and_days_off_have_no_digest(world, a1):
    # Half a day after Friday's end: stale, not sent; Saturday and Sunday: days off
    sla_digest(now=FRIDAY_END + timedelta(hours=13))
    sla_digest(now=FRIDAY_END + timedelta(days=1))
    sla_digest(now=FRIDAY_END + timedelta(days=2))
    assert a1_digests(world) == []


def test_the_periodic_tasks_run_the_sweep_and_the_digest_every_minute(world, a1):
    from monitoring.tasks import sla_digest as digest_task
    from monitoring.tasks import sla_sweep as sweep_task

    assert settings.SCRM_PERIODIC_TASKS["monitoring.tasks.sla_sweep"] == 60.0
    assert settings.SCRM_PERIODIC_TASKS["monitoring.tasks.sla_digest"] == 60.0
    conversation = conversation_with_messages(a1)
    deadline_for(conversation, due_at=datetime(2026, 1, 1, tzinfo=UTC))  # long overdue
    assert sweep_task.delay().get() == 1
    assert sweep_task.delay().get() == 0
    assert isinstance(digest_task.delay().get(), int)
