"""Due times of deadlines opened by ingestion in each shop's own time: time zones, weekends,
holidays, the same-day cut-off, working hours, both daylight-saving changes; a policy changed
mid-way recomputes the open ones (the background task); and the whole path over the simulator:
a pending or failed reply closes nothing, the delivered one does."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from inbox.models import ANSWERED_SENTINEL, Conversation
from inbox.services import replies
from inbox.services.aftersales import after_sales_case_sync
from inbox.services.ingestion import conversation_sync
from monitoring.models.sla import BusinessCalendar, Holiday, SlaPolicy
from monitoring.sla.recompute import deadlines_recompute
from monitoring.tasks import sla_recompute
from tests.inbox.builders import deliver
from tests.inbox.platform_world import start_platform
from tests.monitoring.sla_builders import (
    all_deadlines,
    buyer,
    deadline_events,
    last_event_id,
    opened,
    store,
)

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_kuala_lumpur_before_opening_is_due_at_the_end_of_that_day(world):
    # Shop a3 works 09:00-18:00 Kuala Lumpur time (UTC+8); a buyer writes at 08:00 on Tuesday
    got = opened(buyer(world.shop_a3, "tz-1", utc(2026, 11, 24, 0, 0)))
    assert got["same_day"].due_at == utc(2026, 11, 24, 10, 0)  # 18:00 local, that day
    assert got["first_reply"].due_at == utc(2026, 11, 25, 0, 0)
    assert got["same_day"].rule["time_zone"] == "Asia/Kuala_Lumpur"


def test_london_after_the_cut_off_is_due_at_the_end_of_the_next_working_day(world):
    # 17:30 in London, after the 17:00 cut-off: due by the end of Wednesday
    got = opened(buyer(world.shop_a2, "tz-2", utc(2026, 11, 24, 17, 30)))
    assert got["same_day"].due_at == utc(2026, 11, 25, 18, 0)


def test_a_saturday_message_is_due_same_day_at_the_end_of_monday(world):
    # Saturday 10:00 in Los Angeles
    got = opened(buyer(world.shop_a1, "tz-3", utc(2026, 11, 28, 18, 0)))
    assert got["same_day"].due_at == utc(2026, 12, 1, 2, 0)  # Monday 18:00 local
    assert got["first_reply"].due_at == utc(2026, 11, 29, 18, 0)  # wall-clock: 24 h on


def test_a_holiday_is_skipped(world):
    calendar = BusinessCalendar.objects.create(organisation=world.org_a, shop_account=world.shop_a1)
    Holiday.objects.create(calendar=calendar, date=date(2026, 11, 30), name="Day off")
    got = opened(buyer(world.shop_a1, "tz-4", utc(2026, 11, 28, 18, 0)))
    assert got["same_day"].due_at == utc(2026, 12, 2, 2, 0)  # Tuesday 18:00 local


def test_working_hours_targets_count_only_working_time(world):
    SlaPolicy.objects.create(
        organisation=world.org_a, first_reply_minutes=120, first_reply_business_hours=True
    )
    # Friday 17:00 Los Angeles: one working hour on Friday, the second on Monday morning
    got = opened(buyer(world.shop_a1, "tz-5", utc(2026, 11, 28, 1, 0)))
    assert got["first_reply"].due_at == utc(2026, 11, 30, 18, 0)  # Monday 10:00 PST
    assert got["first_reply"].rule["business_hours"] is True


def test_spring_forward_wall_clock_is_elapsed_time_and_working_hours_follow_the_clock(world):
    # Los Angeles springs forward on Sunday 8 March 2026 (02:00 PST -> 03:00 PDT)
    wall = opened(buyer(world.shop_a1, "dst-1", utc(2026, 3, 7, 20, 0)))  # Sat 12:00 PST
    assert wall["first_reply"].due_at == utc(2026, 3, 8, 20, 0)  # 24 h on: 13:00 PDT
    SlaPolicy.objects.create(
        organisation=world.org_a, next_reply_minutes=120, next_reply_business_hours=True
    )
    # Friday 17:00 PST, a next reply of 2 working hours: Monday 10:00 PDT
    store(world.shop_a1, "dst-2", ("BUYER", utc(2026, 3, 5, 20, 0)), ("SHOP", utc(2026, 3, 5, 21)))
    business = opened(buyer(world.shop_a1, "dst-2", utc(2026, 3, 7, 1, 0)))
    assert business["next_reply"].due_at == utc(2026, 3, 9, 17, 0)
    # Monday 08:00 PDT: same-day at 18:00 PDT
    monday = opened(buyer(world.shop_a1, "dst-3", utc(2026, 3, 9, 15, 0)))
    assert monday["same_day"].due_at == utc(2026, 3, 10, 1, 0)


def test_fall_back_wall_clock_is_elapsed_time_and_working_hours_follow_the_clock(world):
    # Los Angeles falls back on Sunday 1 November 2026 (02:00 PDT -> 01:00 PST)
    wall = opened(buyer(world.shop_a1, "dst-4", utc(2026, 10, 31, 19, 0)))  # Sat 12:00 PDT
    assert wall["first_reply"].due_at == utc(2026, 11, 1, 19, 0)  # 24 h on: 11:00 PST
    SlaPolicy.objects.create(
        organisation=world.org_a, first_reply_minutes=120, first_reply_business_hours=True
    )
    business = opened(buyer(world.shop_a1, "dst-5", utc(2026, 10, 31, 0, 0)))  # Fri 17:00 PDT
    assert business["first_reply"].due_at == utc(2026, 11, 2, 18, 0)  # Mon 10:00 PST


def test_a_policy_changed_mid_way_recomputes_the_open_deadlines(world):
    # Given a buyer waiting since Tuesday 10:00 (first reply due in 24 h) and an answered one
    started = utc(2026, 11, 24, 18, 0)
    chat = buyer(world.shop_a1, "pol-1", started)
    answered = store(world.shop_a1, "pol-2", ("BUYER", started), ("SHOP", started + H))
    closed_before = [(d.id, d.state, d.due_at) for d in all_deadlines(answered)]
    start = last_event_id()
    # When the organisation's policy becomes 12 hours, same-day off, and the task runs
    SlaPolicy.objects.create(
        organisation=world.org_a, first_reply_minutes=720, same_day_enabled=False
    )
    moved = sla_recompute.apply(kwargs={"shop_account_ids": [world.shop_a1.id]}).get()
    # Then the open first reply is due 12 hours from the message; the same-day one ended
    got = opened(chat)
    assert set(got) == {"first_reply"}
    assert got["first_reply"].due_at == started + 12 * H
    assert got["first_reply"].rule["minutes"] == 720
    assert moved == 2
    chat.refresh_from_db()
    assert chat.sla_due_at == started + 12 * H
    (event,) = deadline_events(start)
    assert (event["id"], event["deadline"]["due_at"]) == (chat.id, "2026-11-25T06:00:00+00:00")
    # closed deadlines stay as they closed; running it again moves nothing
    assert [(d.id, d.state, d.due_at) for d in all_deadlines(answered)] == closed_before
    assert deadlines_recompute(organisation_id=world.org_a.id) == 0


@pytest.fixture
def sim(settings, world):
    platform = start_platform(settings)
    platform.connect_shop(world.shop_a1)
    yield platform.sim
    platform.server.stop()
    platform.sim.close()


def test_over_the_simulator_only_the_delivered_reply_closes_the_wait(world, sim):
    shop = world.shop_a1
    # Given a buyer writes on the platform and the conversation is read from it
    chat_id, _ = sim.buyer_message(
        shop.platform_shop_id,
        buyer_user_id="sla-b1",
        nickname="Emily R.",
        text="Where is my parcel?",
        at=time.time() - 600,
    )
    conversation_sync(shop=shop, conversation_id=chat_id)
    chat = Conversation.objects.get(platform_conversation_id=chat_id)
    assert set(opened(chat)) == {"first_reply", "same_day"}
    # When the agent replies: stored pending, then given up as failed
    reply, _ = replies.message_send(
        actor=world.agent_a1, conversation_id=chat.id, text="Let me check.", idempotency_key="s1"
    )
    assert set(opened(chat)) == {"first_reply", "same_day"}
    replies.message_mark_failed(message_id=reply.id, reason="platform down")
    assert set(opened(chat)) == {"first_reply", "same_day"}
    # When it is retried and delivered to the platform
    replies.message_retry(actor=world.agent_a1, message_id=reply.id)
    deliver(reply)
    # Then the wait is answered: both deadlines met, nothing due
    reply.refresh_from_db()
    assert reply.delivery_state == "sent"
    assert {(d.kind, d.state) for d in all_deadlines(chat)} == {
        ("first_reply", "met"),
        ("same_day", "met"),
    }
    chat.refresh_from_db()
    assert chat.sla_due_at == ANSWERED_SENTINEL


def test_over_the_simulator_a_return_request_opens_its_deadlines(world, sim):
    shop = world.shop_a1
    order_id = sim.order_create(shop.platform_shop_id, buyer_user_id="sla-b2", status="DELIVERED")
    return_id = sim.return_request(shop.platform_shop_id, buyer_user_id="sla-b2", order_id=order_id)
    case = after_sales_case_sync(shop=shop, family="return", case_id=return_id)
    assert case is not None and case.stage == "needs_decision"
    got = opened(case)
    assert set(got) == {"after_sales", "same_day"}
    expected = case.platform_created_at + 24 * H
    if case.seller_deadline is not None:
        expected = min(expected, case.seller_deadline)
    assert got["after_sales"].due_at == expected
