"""An after-sales case's SLA deadlines follow its stage, as ingestion stores it: needing a
decision opens the after-sales deadline (the platform's earlier seller deadline wins) and the
same-day one; a decision the platform accepted closes them met or missed; the platform closing
it without our decision ends them. Also the queue's selector, and the event's payload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbox.models import ANSWERED_SENTINEL
from monitoring.models.sla import SlaPolicy
from monitoring.sla.selectors import open_deadlines_for
from tests.monitoring.sla_builders import (
    all_deadlines,
    buyer,
    case_store,
    deadline_events,
    last_event_id,
    opened,
    platform_case,
    store,
)

pytestmark = pytest.mark.django_db

TUE_10 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # Tuesday 10:00 in Los Angeles
H = timedelta(hours=1)
M = timedelta(minutes=1)


def test_a_case_needing_a_decision_opens_after_sales_and_same_day(world):
    start = last_event_id()
    # Given a refund request on Tuesday 10:00 local, the platform's seller deadline 2 days on
    case = case_store(world.shop_a1, platform_case(TUE_10, seller_deadline=TUE_10 + 48 * H))
    # Then the after-sales decision is due in 24 hours (the policy's, earlier than the
    # platform's), the same-day target at 18:00 local
    got = opened(case)
    assert set(got) == {"after_sales", "same_day"}
    assert got["after_sales"].due_at == TUE_10 + 24 * H
    assert got["after_sales"].rule["platform_deadline"] is False
    assert got["same_day"].due_at == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    case.refresh_from_db()
    assert case.sla_due_at == got["same_day"].due_at
    (event,) = deadline_events(start)
    assert (event["subject"], event["id"]) == ("case", case.id)
    assert event["deadline"]["kind"] == "same_day"


def test_the_platforms_earlier_seller_deadline_wins(world):
    case = case_store(world.shop_a1, platform_case(TUE_10, seller_deadline=TUE_10 + 6 * H))
    after_sales = opened(case)["after_sales"]
    assert after_sales.due_at == TUE_10 + 6 * H
    assert after_sales.rule["platform_deadline"] is True


def test_the_platform_moving_its_seller_deadline_moves_the_open_one(world):
    case = case_store(world.shop_a1, platform_case(TUE_10, seller_deadline=TUE_10 + 48 * H))
    # When a later read shows the platform's deadline brought forward
    case_store(
        world.shop_a1,
        platform_case(TUE_10, seller_deadline=TUE_10 + 3 * H, update_time=TUE_10 + H),
    )
    assert opened(case)["after_sales"].due_at == TUE_10 + 3 * H


def test_a_decision_the_platform_accepted_closes_them_met(world):
    case = case_store(world.shop_a1, platform_case(TUE_10))
    start = last_event_id()
    # When the platform shows the refund approved 2 hours later
    case_store(
        world.shop_a1,
        platform_case(
            TUE_10,
            status="RETURN_OR_REFUND_REQUEST_SUCCESS",
            seller_action="",
            update_time=TUE_10 + 2 * H,
        ),
    )
    # Then both closed met at the platform's time of the change
    assert {(d.kind, d.state, d.closed_at) for d in all_deadlines(case)} == {
        ("after_sales", "met", TUE_10 + 2 * H),
        ("same_day", "met", TUE_10 + 2 * H),
    }
    case.refresh_from_db()
    assert case.sla_due_at == ANSWERED_SENTINEL
    assert [e["deadline"] for e in deadline_events(start)] == [None]


def test_a_decision_after_the_due_time_is_missed(world):
    case = case_store(world.shop_a1, platform_case(TUE_10, seller_deadline=TUE_10 + 6 * H))
    case_store(
        world.shop_a1,
        platform_case(
            TUE_10,
            status="REFUND_OR_RETURN_REQUEST_REJECT",
            seller_action="",
            update_time=TUE_10 + 7 * H,
        ),
    )
    # the decision came an hour after the platform's deadline, before the day's end (18:00)
    assert {(d.kind, d.state) for d in all_deadlines(case)} == {
        ("after_sales", "missed"),
        ("same_day", "met"),
    }


def test_the_buyer_withdrawing_before_any_decision_ends_them(world):
    case = case_store(world.shop_a1, platform_case(TUE_10))
    case_store(
        world.shop_a1,
        platform_case(
            TUE_10,
            status="RETURN_OR_REFUND_REQUEST_CANCEL",
            seller_action="",
            update_time=TUE_10 + H,
        ),
    )
    assert {d.state for d in all_deadlines(case)} == {"ended"}


def test_repeated_and_stale_reads_keep_one_open_deadline_per_kind(world):
    first = platform_case(TUE_10)
    case = case_store(world.shop_a1, first)
    for _ in range(3):
        case_store(world.shop_a1, first)
    case_store(world.shop_a1, platform_case(TUE_10 - H))  # older: changes nothing
    assert len(all_deadlines(case)) == 2
    assert set(opened(case)) == {"after_sales", "same_day"}


def test_a_case_back_to_needing_a_decision_opens_new_ones_from_then(world):
    # Given a return approved, then the buyer shipped the parcel back (to be judged)
    case = case_store(world.shop_a1, platform_case(TUE_10))
    case_store(
        world.shop_a1,
        platform_case(
            TUE_10, status="AWAITING_BUYER_SHIP", seller_action="", update_time=TUE_10 + H
        ),
    )
    case_store(
        world.shop_a1,
        platform_case(
            TUE_10,
            status="BUYER_SHIPPED_ITEM",
            seller_action="SELLER_RECEIVE_PACKAGE",
            update_time=TUE_10 + 30 * H,
        ),
    )
    # Then new deadlines run from the moment it needed a decision again
    got = opened(case)
    assert got["after_sales"].started_at == TUE_10 + 30 * H
    assert got["after_sales"].due_at == TUE_10 + 54 * H
    assert len(all_deadlines(case)) == 4


def test_open_deadlines_for_reads_each_subjects_earliest_in_one_query(world):
    now = datetime.now(UTC).replace(microsecond=0)
    SlaPolicy.objects.create(organisation=world.org_a, same_day_enabled=False)
    # Given a case due in 30 minutes (the platform's deadline), a conversation long overdue,
    # one answered, and one just asked
    soon = case_store(world.shop_a1, platform_case(now - H, seller_deadline=now + 30 * M))
    late = buyer(world.shop_a2, "sla-s2", now - 30 * H)
    answered = buyer(world.shop_a1, "sla-s3", TUE_10)
    store(world.shop_a1, "sla-s3", ("SHOP", TUE_10 + H))
    fresh = buyer(world.shop_a1, "sla-s1", now - H)
    # When the queue reads their deadlines
    with CaptureQueriesContext(connection) as queries:
        infos = open_deadlines_for(
            conversation_ids=[fresh.id, late.id, answered.id], case_ids=[soon.id], now=now
        )
    # Then one query gave each open subject its earliest-due deadline, with its state now
    assert len(queries) == 1
    assert set(infos) == {("conversation", fresh.id), ("conversation", late.id), ("case", soon.id)}
    for key, subject in [
        (("conversation", fresh.id), fresh),
        (("conversation", late.id), late),
        (("case", soon.id), soon),
    ]:
        earliest = min(opened(subject).values(), key=lambda d: d.due_at)
        assert (infos[key].kind, infos[key].due_at) == (earliest.kind, earliest.due_at)
    assert infos[("case", soon.id)].due_at == now + 30 * M
    assert infos[("case", soon.id)].warn_at == now + 30 * M - 4 * H
    assert infos[("case", soon.id)].state == "warning"  # inside its 4-hour window
    assert infos[("conversation", late.id)].state == "breached"
    assert open_deadlines_for() == {}
