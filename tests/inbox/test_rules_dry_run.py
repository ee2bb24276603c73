"""The dry run of an after-sales rule over a seeded history: exactly the cases the rule would
have acted on over the last 30 days, newest first, and the right total (literal values worked
out by hand from the seed, not recomputed by the same query)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbox.models import RuleDryRun
from inbox.services.rules.dry_run import rule_dry_run
from inbox.services.rules.editing import rule_create
from monitoring.models import AuditEvent
from scrm.api import Forbidden, NotFound
from tests.inbox.rules_builders import DAMAGED, SIZE, buyer, seeded_case

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def _ids(run: RuleDryRun) -> list[str]:
    return [row["platform_case_id"] for row in run.rows]


def test_the_dry_run_lists_exactly_the_cases_an_approving_rule_would_touch_with_the_total(world):
    a1, a2 = world.shop_a1, world.shop_a2
    # Given 30 days of requests in shops a1 and a2 (and one just before the window)
    inside = {
        "fifteen": seeded_case(a1, at=_ago(2), amount="15.00"),
        "at_limit": seeded_case(
            a1,
            at=_ago(10),
            amount="20.00",
            status="RETURN_OR_REFUND_REQUEST_SUCCESS",
            stage="decided",
        ),
        "withdrawn": seeded_case(
            a1,
            at=_ago(5),
            amount="3.00",
            status="RETURN_OR_REFUND_REQUEST_CANCEL",
            stage="closed",
        ),
        "window_edge": seeded_case(
            a1,
            at=_ago(29, 23),
            amount="11.11",
            kind="return_and_refund",
            platform_type="RETURN_AND_REFUND",
        ),
    }
    outside = [
        seeded_case(a1, at=_ago(3), amount="20.01"),  # over the limit
        seeded_case(a1, at=_ago(30) - timedelta(minutes=1), amount="12.50"),  # too old
        seeded_case(a1, at=_ago(4), amount="9.99", currency="GBP"),  # another currency
        seeded_case(a1, at=_ago(6), amount="5.00", reason=SIZE),  # another reason
        seeded_case(a2, at=_ago(1), amount="7.25"),  # another shop
        seeded_case(  # an exchange: not a type the rule takes
            a1,
            at=_ago(7),
            amount="4.00",
            kind="exchange",
            platform_type="EXCHANGE",
            status="EXCHANGE_REQUEST_PENDING",
            history=[["EXCHANGE_REQUEST_PENDING", int(_ago(7).timestamp())]],
        ),
        seeded_case(  # never waited for the seller's answer (the platform decided it alone)
            a1,
            at=_ago(8),
            amount="6.00",
            status="RETURN_OR_REFUND_REQUEST_SUCCESS",
            stage="decided",
            history=[["RETURN_OR_REFUND_REQUEST_SUCCESS", int(_ago(8).timestamp())]],
        ),
        seeded_case(world.shop_b1, at=_ago(2), amount="1.00"),  # another organisation
    ]
    assert len(outside) == 8
    # and the rule "damaged and refund <= 20 USD in shop a1 -> approve"
    rule = rule_create(
        actor=world.supervisor_a,
        data={
            "name": "Damaged under $20",
            "shop_account_ids": [a1.id],
            "kinds": ["refund", "return_and_refund"],
            "reason_codes": [DAMAGED],
            "amount_max": "20",
            "currency": "usd",
            "decision": "approve",
        },
    )

    # When the supervisor runs it dry
    run = rule_dry_run(actor=world.supervisor_a, rule_id=rule.id, now=NOW)

    # Then it lists exactly the four cases it would have approved, newest first
    expected = ["fifteen", "withdrawn", "at_limit", "window_edge"]
    assert _ids(run) == [inside[name].platform_case_id for name in expected]
    assert [row["amount"] for row in run.rows] == ["15.00", "3.00", "20.00", "11.11"]
    assert [row["decision"] for row in run.rows] == [
        "APPROVE_REFUND",
        "APPROVE_REFUND",
        "APPROVE_REFUND",
        "APPROVE_RETURN",
    ]
    # with the total: 15.00 + 3.00 + 20.00 + 11.11
    assert (run.matched, run.totals) == (4, {"USD": "49.11"})
    assert run.rule_version == 1 and run.window_start == NOW - timedelta(days=30)
    # and nothing of the buyers' words is kept
    assert "damaged in transit" not in str(run.rows)
    assert AuditEvent.objects.filter(action="after_sales_rule.dry_run", target_id=str(run.id))


def test_buyer_history_counts_refunds_this_month_in_the_shops_time_zone_and_ever(world):
    a1 = world.shop_a1  # America/Los_Angeles
    regular, newcomer = buyer(a1, "Regular"), buyer(a1, "Newcomer")

    # Given a buyer's refund requests: 31 Oct evening in Los Angeles (1 Nov in UTC), then 3 in
    # November; and another buyer with 2 in November
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    october = seeded_case(a1, at=at("2026-11-01T03:00"), customer=regular, reason=SIZE)
    first = seeded_case(a1, at=at("2026-11-02T10:00"), customer=regular, reason=SIZE)
    second = seeded_case(a1, at=at("2026-11-10T10:00"), customer=regular, reason=SIZE)
    third = seeded_case(a1, at=at("2026-11-20T10:00"), customer=regular, reason=SIZE)
    seeded_case(a1, at=at("2026-11-03T10:00"), customer=newcomer, reason=SIZE)
    seeded_case(a1, at=at("2026-11-05T10:00"), customer=newcomer, reason=SIZE)
    assert {october.id, first.id, second.id}  # (not the third this month in Los Angeles)
    # and "the third refund this month -> assign to a senior agent"
    senior = world.supervisor_a
    third_rule = rule_create(
        actor=world.supervisor_a,
        data={"name": "Third refund", "refunds_month_min": 3, "assign_to": senior.pk},
    )
    fourth_ever = rule_create(
        actor=world.supervisor_a,
        data={"name": "Fourth ever", "refunds_ever_min": 4, "tag": "repeat-refunder"},
    )

    # When both are run dry
    by_month = rule_dry_run(actor=world.supervisor_a, rule_id=third_rule.id, now=NOW)
    by_ever = rule_dry_run(actor=world.supervisor_a, rule_id=fourth_ever.id, now=NOW)

    # Then only the buyer's third November request is the third this month (the 31 October
    # one was October where the shop is), and it is also their fourth ever
    assert _ids(by_month) == [third.platform_case_id]
    assert _ids(by_ever) == [third.platform_case_id]
    # a rule that decides nothing totals what the touched cases asked for
    assert by_month.totals == {"USD": "10.00"}


def test_only_the_organisations_supervisors_run_its_rules(world):
    rule = rule_create(
        actor=world.supervisor_a,
        data={"name": "Tag damaged", "reason_codes": [DAMAGED], "tag": "damaged"},
    )
    with pytest.raises(NotFound):
        rule_dry_run(actor=world.supervisor_b, rule_id=rule.id)
    with pytest.raises(Forbidden):
        rule_dry_run(actor=world.agent_a1, rule_id=rule.id)
    assert not RuleDryRun.objects.exists()
