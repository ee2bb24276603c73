"""The one-minute sweep with a controllable clock: each threshold alerted once, catch-up after
downtime sends only the most severe, who is told (and nobody of another shop or organisation),
escalation by automatic assignment or to the supervisors, and a batch that fails records
nothing. Racing sweeps in two processes: test_sla_sweep_race.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction

from inbox.models import AssignmentMode, Conversation
from inbox.services.presence import presence_connect
from monitoring.events import SLA_ALERT
from monitoring.models.sla import Deadline, SlaAlert
from monitoring.sla.sweep import sla_sweep
from scrm.events import payload_check
from tests.factories import make_person
from tests.inbox.builders import conversation_with_messages
from tests.inbox.case_builders import case_needing_decision
from tests.monitoring.sweep_builders import (
    T0,
    alert_events,
    alerts_of,
    deadline_for,
    last_event_id,
    told,
)

pytestmark = pytest.mark.django_db

DUE = T0 + timedelta(hours=24)


def at(hours_before_due: float):
    return DUE - timedelta(hours=hours_before_due)


def assigned_conversation(world, assignee=None):
    conversation = conversation_with_messages(world.shop_a1)
    Conversation.objects.filter(id=conversation.id).update(assignee=assignee or world.agent_a1)
    return conversation


def test_warnings_then_breach_each_once(world):
    # Given an assigned conversation's deadline due at DUE with warnings 4 h and 1 h before
    deadline = deadline_for(assigned_conversation(world), due_at=DUE)
    start = last_event_id()
    # When sweeps run every "minute" across its life, twice at each moment
    for moment in (at(5), at(4), at(3.99), at(1), at(0.5), at(0), at(-1)):
        sla_sweep(now=moment)
        sla_sweep(now=moment)
    # Then each threshold was alerted once, to the assignee only, and the deadline is done
    assert alerts_of(deadline) == [("warning", 240), ("warning", 60), ("breach", 0)]
    assert told(deadline, "warning", 240) == {world.agent_a1.pk}
    assert told(deadline, "breach") == {world.agent_a1.pk, world.supervisor_a.pk}
    deadline.refresh_from_db()
    assert deadline.next_alert_at is None
    events = alert_events(start)
    assert [(e.user_id, e.data["kind"]) for e in events] == [
        (world.agent_a1.pk, "warning"),
        (world.agent_a1.pk, "warning"),
        (world.agent_a1.pk, "breach"),
        (world.supervisor_a.pk, "breach"),
    ]
    for event in events:
        payload_check(SLA_ALERT, event.data)
    breach = events[-1].data
    assert breach["escalated"] is True and breach["subject_id"] == deadline.conversation_id
    assert breach["assignee_id"] == world.agent_a1.pk


def test_next_alert_at_moves_to_the_next_threshold(world):
    deadline = deadline_for(assigned_conversation(world), due_at=DUE)
    assert deadline.next_alert_at == at(4)
    sla_sweep(now=at(4))
    deadline.refresh_from_db()
    assert deadline.next_alert_at == at(1)
    sla_sweep(now=at(1) + timedelta(seconds=30))
    deadline.refresh_from_db()
    assert deadline.next_alert_at == DUE


def test_catch_up_after_downtime_sends_the_breach_only(world):
    # Given a deadline whose every threshold passed while no worker ran
    deadline = deadline_for(assigned_conversation(world), due_at=DUE)
    start = last_event_id()
    # When the workers come back two hours after the due time
    result = sla_sweep(now=at(-2))
    # Then all three are recorded, the breach alone told; the warnings say they were skipped
    assert (result.recorded, result.sent) == (3, 1)
    assert alerts_of(deadline) == [("warning", 240), ("warning", 60), ("breach", 0)]
    assert [e.data["kind"] for e in alert_events(start)] == ["breach", "breach"]
    assert told(deadline, "warning", 240) == set() == told(deadline, "warning", 60)
    warning = SlaAlert.objects.get(deadline=deadline, threshold_minutes=240)
    assert warning.data == {"catch_up": True, "told": False}
    assert SlaAlert.objects.get(deadline=deadline, kind="breach").data == {"caught_up": [240, 60]}


def test_a_deadline_born_inside_its_window_skips_the_passed_warnings(world):
    # Opened 2 h before due: the 4 h warning was already past (the lifecycle skipped it)
    deadline = deadline_for(assigned_conversation(world), due_at=DUE, started_at=at(2))
    sla_sweep(now=at(1))
    sla_sweep(now=DUE)
    assert alerts_of(deadline) == [("warning", 60), ("breach", 0)]


def test_unassigned_goes_to_the_shops_agents_never_another_shop_or_organisation(world):
    # Given a second agent of shop a1, and agents of another shop and another organisation
    colleague = make_person(world.org_a, "agent", [world.shop_a1], username="colleague_a1")
    conversation = conversation_with_messages(world.shop_a1)
    deadline = deadline_for(conversation, due_at=DUE)
    # When the breach comes (manual assignment: nobody is auto-assigned)
    sla_sweep(now=DUE)
    # Then a1's agents and org A's supervisor are told; a2's agent and org B's people are not
    assert told(deadline, "breach") == {
        world.agent_a1.pk,
        colleague.pk,
        world.supervisor_a.pk,
    }


def test_warning_unassigned_manual_rule_escalates_to_supervisors(world):
    conversation = conversation_with_messages(world.shop_a1)  # shop a1 assigns manually
    deadline = deadline_for(conversation, due_at=DUE)
    sla_sweep(now=at(4))
    alert = SlaAlert.objects.get(deadline=deadline)
    assert (alert.escalated, alert.assignee_id) == (True, None)
    assert told(deadline, "warning", 240) == {world.agent_a1.pk, world.supervisor_a.pk}
    conversation.refresh_from_db()
    assert conversation.assignee_id is None


def test_warning_unassigned_round_robin_with_an_agent_online_assigns_and_tells_them(world):
    # Given shop a1 assigning round robin, with agent_a1 online (an open socket)
    world.shop_a1.assignment_mode = AssignmentMode.ROUND_ROBIN
    world.shop_a1.save(update_fields=["assignment_mode"])
    presence_connect(user_id=world.agent_a1.pk)
    conversation = conversation_with_messages(world.shop_a1)
    Conversation.objects.filter(id=conversation.id).update(assignee=None)
    deadline = deadline_for(conversation, due_at=DUE)
    start = last_event_id()
    # When its first warning comes
    sla_sweep(now=at(4))
    # Then the conversation is agent_a1's, the alert names them, and only they are told
    conversation.refresh_from_db()
    assert conversation.assignee_id == world.agent_a1.pk
    alert = SlaAlert.objects.get(deadline=deadline)
    assert (alert.escalated, alert.assignee_id) == (False, world.agent_a1.pk)
    assert told(deadline, "warning", 240) == {world.agent_a1.pk}
    kinds = [e.type for e in alert_events(start)]
    assert kinds == ["sla.alert"]


def test_round_robin_with_nobody_online_escalates(world):
    world.shop_a1.assignment_mode = AssignmentMode.ROUND_ROBIN
    world.shop_a1.save(update_fields=["assignment_mode"])
    conversation = conversation_with_messages(world.shop_a1)
    Conversation.objects.filter(id=conversation.id).update(assignee=None)
    deadline = deadline_for(conversation, due_at=DUE)
    sla_sweep(now=at(4))
    assert told(deadline, "warning", 240) == {world.agent_a1.pk, world.supervisor_a.pk}
    assert SlaAlert.objects.get(deadline=deadline).escalated is True


def test_a_case_goes_to_its_conversations_assignee(world):
    conversation = assigned_conversation(world)
    case = case_needing_decision(world.shop_a1, conversation=conversation)
    deadline = deadline_for(case, due_at=DUE)
    sla_sweep(now=at(4))
    assert told(deadline, "warning", 240) == {world.agent_a1.pk}


def test_a_case_without_a_conversation_goes_to_the_shops_agents(world):
    case = case_needing_decision(world.shop_a2)
    deadline = deadline_for(case, due_at=DUE)
    sla_sweep(now=at(4))
    # No conversation to assign: a2's agents and the supervisors (nobody holds it)
    assert told(deadline, "warning", 240) == {world.agent_a2.pk, world.supervisor_a.pk}


def test_a_closed_deadline_is_never_alerted(world):
    deadline = deadline_for(assigned_conversation(world), due_at=DUE)
    Deadline.objects.filter(id=deadline.id).update(state="met", closed_at=at(5))
    sla_sweep(now=DUE)
    assert alerts_of(deadline) == []
    deadline.refresh_from_db()
    assert deadline.next_alert_at is None


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_midway_records_nothing_and_the_next_sweep_sends(world):
    # Given two due deadlines, and the database refusing the second receipt of the batch
    # (a real error inside the sweep's transaction, as a dying worker's would be)
    first = deadline_for(assigned_conversation(world), due_at=DUE)
    second = deadline_for(assigned_conversation(world, world.agent_a1), due_at=DUE)
    _refuse_receipts_after(1)
    start = last_event_id()
    # When the sweep runs, it fails
    with pytest.raises(Exception, match="refused"):
        sla_sweep(now=at(4))
    # Then nothing of the batch stays: no alert, no receipt, no event, thresholds unmoved
    assert alerts_of(first) == [] == alerts_of(second)
    assert alert_events(start) == []
    first.refresh_from_db()
    assert first.next_alert_at == at(4)
    # And once the database accepts again, the next sweep sends both, once
    _refuse_receipts_after(None)
    sla_sweep(now=at(4) + timedelta(minutes=1))
    assert alerts_of(first) == [("warning", 240)] == alerts_of(second)
    assert len(alert_events(start)) == 2


def _refuse_receipts_after(allowed: int | None) -> None:
    """A trigger that makes the database refuse receipts once ``allowed`` exist (None: drop)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS refuse_receipts ON monitoring_alertreceipt")
            if allowed is None:
                return
            cursor.execute(
                "CREATE OR REPLACE FUNCTION refuse_receipts() RETURNS trigger AS $$ BEGIN "  # noqa: S608
                f"IF (SELECT count(*) FROM monitoring_alertreceipt) >= {allowed} THEN "
                "RAISE EXCEPTION 'receipt refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_receipts BEFORE INSERT ON monitoring_alertreceipt "
                "FOR EACH ROW EXECUTE FUNCTION refuse_receipts()"
            )
        else:
            cursor.execute("DROP TRIGGER IF EXISTS refuse_receipts")
            if allowed is None:
                return
            cursor.execute(
                "CREATE TRIGGER refuse_receipts BEFORE INSERT ON monitoring_alertreceipt "  # noqa: S608
                f"WHEN (SELECT count(*) FROM monitoring_alertreceipt) >= {allowed} "
                "BEGIN SELECT RAISE(ABORT, 'receipt refused'); END"
            )
