"""A conversation's SLA deadlines follow its wait, through the real ingestion path: a buyer's
message opens the reply and same-day deadlines, a human answer closes them (met or missed by
its time), pending and snoozed change nothing, resolving ends them, a robot answers only where
the policy says so; the queue key and the ``sla.deadline`` event follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbox.hooks import messages_stored
from inbox.models import ANSWERED_SENTINEL, Conversation
from inbox.services import conversations as work
from inbox.services.conversation_state import conversation_state_unsubscribe
from monitoring.models.sla import SlaPolicy
from monitoring.sla import lifecycle
from tests.monitoring.sla_builders import (
    all_deadlines,
    buyer,
    deadline_events,
    last_event_id,
    opened,
    store,
)

pytestmark = pytest.mark.django_db

# Tuesday 24 November 2026, 10:00 in Los Angeles (shop a1's time zone: UTC-8).
TUE_10 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_a_buyer_message_opens_first_reply_and_same_day(world):
    # Given shop a1 (Los Angeles, the default week 09:00-18:00, the default policy)
    start = last_event_id()
    # When a buyer writes on Tuesday at 10:00 local time
    chat = buyer(world.shop_a1, "sla-c1", TUE_10)
    # Then a first reply is due 24 hours later and the same-day target at 18:00 that day
    got = opened(chat)
    assert set(got) == {"first_reply", "same_day"}
    assert got["first_reply"].started_at == TUE_10
    assert got["first_reply"].due_at == TUE_10 + 24 * H
    assert got["same_day"].due_at == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 18:00 local
    assert got["first_reply"].rule["minutes"] == 24 * 60
    # born long ago (the platform's time): no warning to come, the breach is next
    assert got["first_reply"].next_alert_at == got["first_reply"].due_at
    # the queue key is the earliest open due time, and the change was published
    chat.refresh_from_db()
    assert chat.sla_due_at == got["same_day"].due_at
    (event,) = deadline_events(start)
    assert (event["subject"], event["id"], event["shop_account_id"]) == (
        "conversation",
        chat.id,
        world.shop_a1.id,
    )
    assert event["deadline"]["kind"] == "same_day"
    assert event["deadline"]["due_local"] == "2026-11-24T18:00:00-08:00"
    assert event["deadline"]["state"] == "breached"


def test_a_deadline_opening_inside_its_warning_window_skips_the_passed_warnings(world):
    # Given a buyer who wrote 22 hours ago (the warnings: 4 h and 1 h before the due time)
    now = datetime.now(UTC).replace(microsecond=0)
    chat = buyer(world.shop_a1, "sla-c2", now - 22 * H)
    reply = opened(chat)["first_reply"]
    # Then its next alert is the 1-hour warning, not the 4-hour one already past
    assert reply.due_at == now + 2 * H
    assert reply.next_alert_at == reply.due_at - H


def test_more_messages_and_replays_keep_one_open_deadline_per_kind(world):
    # Given a waiting buyer
    chat = buyer(world.shop_a1, "sla-c3", TUE_10)
    first = opened(chat)
    # When they write three more times, and the first message is delivered again
    for minutes in (5, 6, 7):
        buyer(world.shop_a1, "sla-c3", TUE_10 + timedelta(minutes=minutes))
    store(world.shop_a1, "sla-c3")
    # Then the same two deadlines are open, unchanged
    again = opened(chat)
    assert {k: (d.id, d.due_at) for k, d in again.items()} == {
        k: (d.id, d.due_at) for k, d in first.items()
    }
    assert len(all_deadlines(chat)) == 2


def test_a_follow_up_adds_no_query_and_a_new_wait_adds_a_few(world, settings):
    # The hot path: what the deadlines add to storing a buyer's message.
    buyer(world.shop_a3, "sla-warm", TUE_10)  # the buyer's customer row, caches
    with CaptureQueriesContext(connection) as opening:
        buyer(world.shop_a1, "sla-c4", TUE_10)
    with CaptureQueriesContext(connection) as follow_up:
        buyer(world.shop_a1, "sla-c4", TUE_10 + H)
    # The same two stores without the tracker's subscribers
    conversation_state_unsubscribe(lifecycle.conversation_state_changed)
    messages_stored.unsubscribe(lifecycle.messages_stored)
    try:
        with CaptureQueriesContext(connection) as bare_opening:
            buyer(world.shop_a2, "sla-c5", TUE_10)
        with CaptureQueriesContext(connection) as bare_follow_up:
            buyer(world.shop_a2, "sla-c5", TUE_10 + H)
    finally:
        lifecycle.subscribe()
    # a follow-up in a wait whose deadlines are open reads nothing more
    assert len(follow_up) == len(bare_follow_up)
    # a new wait: open deadlines (1), whether a human ever answered (1), the shop's policy and
    # calendar (1), one insert, the queue key, the event (+ its transaction id on PostgreSQL)
    added = len(opening) - len(bare_opening)
    assert added <= (7 if connection.vendor == "postgresql" else 6), (
        [q["sql"][:60] for q in opening.captured_queries]
        + ["--- bare"]
        + [q["sql"][:60] for q in bare_opening.captured_queries]
    )


def test_pending_and_snoozed_never_stop_or_move_a_deadline(world):
    # Given a waiting buyer
    chat = buyer(world.shop_a1, "sla-c6", TUE_10)
    before = {k: (d.due_at, d.next_alert_at) for k, d in opened(chat).items()}
    # When the agent sets it pending, then snoozes it, then it wakes
    work.conversation_set_status(actor=world.agent_a1, conversation_id=chat.id, status="pending")
    work.conversation_set_status(
        actor=world.agent_a1,
        conversation_id=chat.id,
        status="snoozed",
        snoozed_until=datetime.now(UTC) + H,
    )
    work.conversation_set_status(actor=world.agent_a1, conversation_id=chat.id, status="open")
    # Then the deadlines run on, unchanged
    assert {k: (d.due_at, d.next_alert_at) for k, d in opened(chat).items()} == before


def test_a_human_answer_read_from_the_platform_closes_met_or_missed_by_its_time(world):
    # Given a buyer who wrote on Tuesday at 10:00
    chat = buyer(world.shop_a1, "sla-c7", TUE_10)
    start = last_event_id()
    # When the seller answers from Seller Center 25 hours later (read by ingestion)
    store(world.shop_a1, "sla-c7", ("SHOP", TUE_10 + 25 * H))
    # Then the first reply and the same-day target closed missed, at the answer's time
    closed = {d.kind: d for d in all_deadlines(chat)}
    states = {k: d.state for k, d in closed.items()}
    assert states == {"first_reply": "missed", "same_day": "missed"}
    assert closed["first_reply"].closed_at == TUE_10 + 25 * H
    assert closed["first_reply"].next_alert_at is None
    chat.refresh_from_db()
    assert chat.sla_due_at == ANSWERED_SENTINEL
    assert [e["deadline"] for e in deadline_events(start)] == [None]


def test_the_buyer_writing_again_after_an_answer_opens_a_next_reply(world):
    # Given a buyer answered within the hour
    chat = buyer(world.shop_a1, "sla-c8", TUE_10)
    store(world.shop_a1, "sla-c8", ("CUSTOMER_SERVICE", TUE_10 + H))
    assert {d.state for d in all_deadlines(chat)} == {"met"}
    # When they write again
    buyer(world.shop_a1, "sla-c8", TUE_10 + 2 * H)
    # Then a next reply is due from that message, with a same-day target
    got = opened(chat)
    assert set(got) == {"next_reply", "same_day"}
    assert got["next_reply"].started_at == TUE_10 + 2 * H
    assert got["next_reply"].due_at == TUE_10 + 26 * H


def test_an_answer_and_a_new_question_read_together_close_one_wait_and_open_the_next(world):
    # Given a waiting buyer
    chat = buyer(world.shop_a1, "sla-c9", TUE_10)
    # When one read brings the seller's answer and the buyer's next question
    store(world.shop_a1, "sla-c9", ("SHOP", TUE_10 + H), ("BUYER", TUE_10 + 2 * H))
    # Then the first reply is met at the answer, and a next reply runs from the question
    states = [(d.kind, d.state, d.started_at) for d in all_deadlines(chat)]
    assert ("first_reply", "met", TUE_10) in states
    assert ("next_reply", "open", TUE_10 + 2 * H) in states
    assert set(opened(chat)) == {"next_reply", "same_day"}
    assert opened(chat)["same_day"].started_at == TUE_10 + 2 * H


def test_an_older_buyer_message_arriving_late_moves_the_open_deadlines_earlier(world):
    chat = buyer(world.shop_a1, "sla-c10", TUE_10)
    ids = {k: d.id for k, d in opened(chat).items()}
    # When the backfill brings an earlier message of the same wait
    buyer(world.shop_a1, "sla-c10", TUE_10 - 2 * H)
    got = opened(chat)
    assert {k: d.id for k, d in got.items()} == ids
    assert got["first_reply"].started_at == TUE_10 - 2 * H
    assert got["first_reply"].due_at == TUE_10 + 22 * H


def test_resolving_while_the_buyer_waits_ends_them_and_a_new_message_opens_new_ones(world):
    # Given a waiting buyer
    chat = buyer(world.shop_a1, "sla-c11", TUE_10)
    # When the agent resolves it without answering
    work.conversation_set_status(actor=world.agent_a1, conversation_id=chat.id, status="resolved")
    # Then both deadlines ended (unanswered), and nothing is due
    assert {(d.kind, d.state) for d in all_deadlines(chat)} == {
        ("first_reply", "ended"),
        ("same_day", "ended"),
    }
    chat.refresh_from_db()
    assert chat.sla_due_at == ANSWERED_SENTINEL
    # When the buyer writes again the next day
    buyer(world.shop_a1, "sla-c11", TUE_10 + 24 * H)
    # Then the conversation reopened with deadlines from that message
    chat.refresh_from_db()
    assert chat.status == "open"
    got = opened(chat)
    assert set(got) == {"first_reply", "same_day"}  # still no human answer in it
    assert got["first_reply"].started_at == TUE_10 + 24 * H


@pytest.mark.parametrize("robots_answer", [False, True])
def test_a_robot_reply_closes_the_wait_only_where_the_policy_says_so(world, robots_answer):
    SlaPolicy.objects.create(organisation=world.org_a, robot_replies_close=robots_answer)
    chat = buyer(world.shop_a1, "sla-c12", TUE_10)
    # When the platform's robot answers a minute later
    store(world.shop_a1, "sla-c12", ("ROBOT", TUE_10 + timedelta(minutes=1)))
    chat.refresh_from_db()
    assert chat.waiting_since == TUE_10  # for the inbox, still waiting for a human
    if not robots_answer:
        assert set(opened(chat)) == {"first_reply", "same_day"}
        return
    assert {(d.kind, d.state) for d in all_deadlines(chat)} == {
        ("first_reply", "met"),
        ("same_day", "met"),
    }
    assert chat.sla_due_at == ANSWERED_SENTINEL
    # When the buyer writes again after the robot: a new request, due from that message
    buyer(world.shop_a1, "sla-c12", TUE_10 + 2 * H)
    got = opened(chat)
    assert set(got) == {"next_reply", "same_day"}
    assert got["next_reply"].started_at == TUE_10 + 2 * H
    # and a human answer closes it
    store(world.shop_a1, "sla-c12", ("SHOP", TUE_10 + 3 * H))
    assert opened(chat) == {}


def test_a_buyer_writing_to_a_snoozed_conversation_a_robot_answered_opens_a_next_reply(world):
    SlaPolicy.objects.create(organisation=world.org_a, robot_replies_close=True)
    chat = buyer(world.shop_a1, "sla-c14", TUE_10)
    store(world.shop_a1, "sla-c14", ("ROBOT", TUE_10 + timedelta(minutes=1)))
    work.conversation_set_status(
        actor=world.agent_a1,
        conversation_id=chat.id,
        status="snoozed",
        snoozed_until=datetime.now(UTC) + H,
    )
    # When the buyer writes again (the conversation wakes)
    buyer(world.shop_a1, "sla-c14", TUE_10 + 2 * H)
    got = opened(chat)
    assert set(got) == {"next_reply", "same_day"}
    assert got["next_reply"].started_at == TUE_10 + 2 * H


def test_a_system_notice_is_no_answer(world):
    SlaPolicy.objects.create(organisation=world.org_a, robot_replies_close=True)
    chat = buyer(world.shop_a1, "sla-c13", TUE_10)
    store(world.shop_a1, "sla-c13", ("SYSTEM", TUE_10 + H))
    assert set(opened(chat)) == {"first_reply", "same_day"}
    assert Conversation.objects.get(pk=chat.pk).sla_due_at < ANSWERED_SENTINEL
