"""Which policy and calendar a shop follows and the due times they give
(monitoring.sla.policies), against the real database: precedence shop > organisation >
default, the platform's deadline, targets turned off, calendars without working time, the
warnings, the calendar page's preview, and the query budget of the per-message call."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from inbox.models import ShopAccount
from monitoring.models import BusinessCalendar, Holiday, SlaPolicy
from monitoring.sla.calendar import CalendarSpec, default_calendar
from monitoring.sla.policies import (
    calendar_for_shop,
    deadline_due,
    due_preview,
    policy_and_calendar_for_shop,
    policy_for_shop,
    warning_times,
)
from tests.factories import OrganisationFactory, ShopAccountFactory

LA = "America/Los_Angeles"
pytestmark = pytest.mark.django_db


def at(tz: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


@pytest.fixture
def shop():
    return ShopAccountFactory(time_zone=LA)


def org_policy(shop_account: ShopAccount, **fields) -> SlaPolicy:
    return SlaPolicy.objects.create(organisation=shop_account.organisation, **fields)


def shop_policy(shop_account: ShopAccount, **fields) -> SlaPolicy:
    return SlaPolicy.objects.create(
        organisation=shop_account.organisation, shop_account=shop_account, **fields
    )


def test_policy_precedence_shop_over_organisation_over_default(shop):
    # Given a second shop of the same organisation and another organisation with its policy
    sibling = ShopAccountFactory(organisation=shop.organisation)
    org_policy(ShopAccountFactory(organisation=OrganisationFactory()), first_reply_minutes=5)
    # When nothing is saved, then an unsaved default of the shop's organisation
    default = policy_for_shop(shop.pk)
    assert default.pk is None
    assert default.organisation_id == shop.organisation_id
    assert (default.first_reply_minutes, default.same_day_cutoff) == (1440, time(17))
    assert default.warning_minutes == [240, 60]
    # When the organisation saves one, then both shops follow it
    organisation = org_policy(shop, first_reply_minutes=720)
    assert policy_for_shop(shop.pk).pk == policy_for_shop(sibling.pk).pk == organisation.pk
    # When one shop overrides, then that shop follows its own and the sibling the organisation's
    override = shop_policy(shop, first_reply_minutes=360)
    assert policy_for_shop(shop.pk).pk == override.pk
    assert policy_for_shop(sibling.pk).pk == organisation.pk
    # When the organisation's is removed, then the override stays and the sibling is default
    organisation.delete()
    assert policy_for_shop(shop.pk).pk == override.pk
    assert policy_for_shop(sibling.pk).pk is None


def test_calendar_without_a_row_is_the_default_week_in_the_shops_time_zone(shop):
    assert calendar_for_shop(shop.pk) == default_calendar(LA)


def test_calendar_with_its_week_and_holidays(shop):
    # Given a calendar with a lunch break on Mondays, two holidays, and another shop's calendar
    calendar = BusinessCalendar.objects.create(
        organisation=shop.organisation,
        shop_account=shop,
        working_hours={"0": [["09:00", "12:00"], ["13:00", "18:00"]]},
    )
    Holiday.objects.create(calendar=calendar, date=date(2026, 12, 25), name="Christmas")
    Holiday.objects.create(calendar=calendar, date=date(2027, 1, 1))
    other = ShopAccountFactory(organisation=shop.organisation)
    other_calendar = BusinessCalendar.objects.create(
        organisation=shop.organisation, shop_account=other
    )
    Holiday.objects.create(calendar=other_calendar, date=date(2026, 7, 4))
    # When read, then exactly this shop's
    assert calendar_for_shop(shop.pk) == CalendarSpec(
        time_zone=LA,
        working_hours=(((time(9), time(12)), (time(13), time(18))),) + ((),) * 6,
        holidays=frozenset({date(2026, 12, 25), date(2027, 1, 1)}),
    )


def test_a_broken_stored_calendar_or_time_zone_never_breaks_due_times(shop):
    # Given a week saved around the validation and a time zone the system no longer knows
    BusinessCalendar.objects.create(
        organisation=shop.organisation, shop_account=shop, working_hours={"0": "all day"}
    )
    ShopAccount.objects.filter(pk=shop.pk).update(time_zone="Mars/Olympus_Mons")
    # When read, then the default week in UTC
    assert calendar_for_shop(shop.pk) == default_calendar("UTC")


def test_an_unknown_shop_or_kind_is_an_error(shop):
    with pytest.raises(ShopAccount.DoesNotExist):
        policy_for_shop(shop.pk + 1000)
    with pytest.raises(ValueError, match="unknown deadline kind"):
        deadline_due(
            kind="third_reply", started_at=at(LA, "2026-03-09 10:00"), shop_account_id=shop.pk
        )


BASE_RULE = {"policy": None, "time_zone": LA, "warnings": [240, 60]}
MINUTES_24H = {"minutes": 1440, "business_hours": False}

DUE_CASES = [
    # (policy fields, kind, started local, platform deadline local, due local, rule)
    ({}, "first_reply", "2026-03-07 12:00", None, "2026-03-08 13:00", MINUTES_24H),
    ({}, "first_reply", "2026-10-31 12:00", None, "2026-11-01 11:00", MINUTES_24H),
    (
        {"first_reply_minutes": 1440, "first_reply_business_hours": True},
        "first_reply",
        "2026-03-09 10:00",
        None,
        "2026-03-11 16:00",
        {"minutes": 1440, "business_hours": True},
    ),
    (
        {"next_reply_minutes": 720},
        "next_reply",
        "2026-03-09 10:00",
        None,
        "2026-03-09 22:00",
        {"minutes": 720, "business_hours": False},
    ),
    # After-sales: the platform's deadline when earlier, the policy's when that is earlier
    (
        {},
        "after_sales",
        "2026-03-09 10:00",
        "2026-03-09 16:00",
        "2026-03-09 16:00",
        {**MINUTES_24H, "platform_deadline": True},
    ),
    (
        {},
        "after_sales",
        "2026-03-09 10:00",
        "2026-03-12 10:00",
        "2026-03-10 10:00",
        {**MINUTES_24H, "platform_deadline": False},
    ),
    (
        {"after_sales_minutes": 0},
        "after_sales",
        "2026-03-09 10:00",
        "2026-03-12 10:00",
        "2026-03-12 10:00",
        {"platform_deadline": True},
    ),
    ({}, "same_day", "2026-03-09 16:00", None, "2026-03-09 18:00", {"cutoff": "17:00"}),
    (
        {"same_day_cutoff": time(12)},
        "same_day",
        "2026-03-09 13:00",
        None,
        "2026-03-10 18:00",
        {"cutoff": "12:00"},
    ),
]


@pytest.mark.parametrize(("fields", "kind", "start", "platform", "due", "rule"), DUE_CASES)
def test_deadline_due(shop, fields, kind, start, platform, due, rule):
    # Given the organisation's policy with these targets
    if fields:
        org_policy(shop, **fields)
    policy_pk = (
        SlaPolicy.objects.filter(organisation=shop.organisation)
        .values_list("pk", flat=True)
        .first()
    )
    # When a deadline of this kind opens
    result = deadline_due(
        kind=kind,
        started_at=at(LA, start),
        shop_account_id=shop.pk,
        platform_deadline=at(LA, platform) if platform else None,
    )
    # Then it falls due at the exact moment, with the rule that gave it
    assert result is not None
    assert result.due_at == at(LA, due)
    assert result.rule == {**BASE_RULE, **rule, "kind": kind, "policy": policy_pk}


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"first_reply_minutes": 0}, "first_reply"),
        ({"next_reply_minutes": 0}, "next_reply"),
        ({"after_sales_minutes": 0}, "after_sales"),
        ({"same_day_enabled": False}, "same_day"),
    ],
)
def test_a_target_turned_off_gives_no_deadline(shop, fields, kind):
    shop_policy(shop, **fields)
    assert (
        deadline_due(kind=kind, started_at=at(LA, "2026-03-09 10:00"), shop_account_id=shop.pk)
        is None
    )


def test_a_calendar_without_working_time_falls_back_to_wall_clock_and_whole_days(shop):
    # Given business-hours targets and a calendar with no working interval in the week
    shop_policy(shop, first_reply_business_hours=True)
    BusinessCalendar.objects.create(
        organisation=shop.organisation, shop_account=shop, working_hours={}
    )
    started = at(LA, "2026-03-09 10:00")
    # When the reply deadline opens, then wall-clock time, and the rule says so
    reply = deadline_due(kind="first_reply", started_at=started, shop_account_id=shop.pk)
    assert reply is not None
    assert reply.due_at == at(LA, "2026-03-10 10:00")
    assert reply.rule["business_fallback"] == "no_working_time"
    # And the same-day target is the end of the shop's calendar day
    same_day = deadline_due(kind="same_day", started_at=started, shop_account_id=shop.pk)
    assert same_day is not None
    assert same_day.due_at == at(LA, "2026-03-10 00:00")
    assert same_day.rule["business_fallback"] == "no_working_time"


def test_holidays_and_changes_apply_to_the_next_call_without_caching(shop):
    # Given a same-day deadline computed on a normal Monday
    started = at(LA, "2026-03-09 10:00")
    first = deadline_due(kind="same_day", started_at=started, shop_account_id=shop.pk)
    assert first is not None and first.due_at == at(LA, "2026-03-09 18:00")
    # When that Monday becomes a holiday, then the next call skips it
    calendar = BusinessCalendar.objects.create(organisation=shop.organisation, shop_account=shop)
    Holiday.objects.create(calendar=calendar, date=date(2026, 3, 9))
    second = deadline_due(kind="same_day", started_at=started, shop_account_id=shop.pk)
    assert second is not None and second.due_at == at(LA, "2026-03-10 18:00")


def test_deadline_due_reads_one_query_and_none_when_given_everything(
    shop, django_assert_num_queries
):
    # Given an override, a calendar and holidays
    shop_policy(shop, first_reply_business_hours=True)
    calendar = BusinessCalendar.objects.create(organisation=shop.organisation, shop_account=shop)
    Holiday.objects.create(calendar=calendar, date=date(2026, 3, 10))
    started = at(LA, "2026-03-09 17:00")
    # When computed from ids alone, then one query: the shop with its week, policy and holidays
    with django_assert_num_queries(1):
        due = deadline_due(kind="first_reply", started_at=started, shop_account_id=shop.pk)
    assert due is not None and due.due_at == at(LA, "2026-03-13 14:00")
    # When the policy and calendar are passed in (a batch), then none
    with django_assert_num_queries(1):
        policy, spec = policy_and_calendar_for_shop(shop.pk)
    assert (policy, spec) == (policy_for_shop(shop.pk), calendar_for_shop(shop.pk))
    with django_assert_num_queries(0):
        again = deadline_due(
            kind="first_reply",
            started_at=started,
            shop_account_id=shop.pk,
            policy=policy,
            calendar=spec,
        )
    assert again == due
    with django_assert_num_queries(1):
        policy_for_shop(shop.pk)
    with django_assert_num_queries(1):
        calendar_for_shop(shop.pk)


@pytest.mark.parametrize("owner", ["shop", "organisation"])
def test_the_one_read_gives_the_policy_row_as_the_orm_reads_it(shop, owner):
    from django.contrib.auth import get_user_model

    # Given a policy with every field away from its default, saved by a person
    editor = get_user_model().objects.create_user(username="sla-editor", password="x" * 12)
    make = shop_policy if owner == "shop" else org_policy
    saved = make(
        shop,
        first_reply_minutes=7,
        first_reply_business_hours=True,
        next_reply_minutes=0,
        next_reply_business_hours=True,
        after_sales_minutes=90,
        after_sales_business_hours=True,
        same_day_enabled=False,
        same_day_cutoff=time(15, 30),
        warning_minutes=[90, 15],
        robot_replies_close=True,
        updated_by=editor,
    )
    # And a calendar with holidays (and another shop's holiday that is not this one's)
    calendar = BusinessCalendar.objects.create(organisation=shop.organisation, shop_account=shop)
    Holiday.objects.create(calendar=calendar, date=date(2026, 12, 25))
    Holiday.objects.create(calendar=calendar, date=date(2027, 1, 1))
    other = ShopAccountFactory(organisation=shop.organisation)
    theirs = BusinessCalendar.objects.create(organisation=other.organisation, shop_account=other)
    Holiday.objects.create(calendar=theirs, date=date(2026, 12, 24))
    # When the shop's policy and calendar are read
    policy, spec = policy_and_calendar_for_shop(shop.pk)
    # Then every field holds what the ORM reads from the row, of the same type
    stored = SlaPolicy.objects.get(pk=saved.pk)
    for field in SlaPolicy._meta.concrete_fields:
        mine, orm = getattr(policy, field.attname), getattr(stored, field.attname)
        assert (mine, type(mine)) == (orm, type(orm)), field.attname
    assert policy.updated_at.utcoffset() == timedelta(0)
    # And the holidays are the shop's own
    assert spec.holidays == frozenset({date(2026, 12, 25), date(2027, 1, 1)})
    assert spec.time_zone == LA


def test_warning_times_are_wall_clock_before_due_largest_first():
    due = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    policy = SlaPolicy()
    # Then 4 h and 1 h before, earliest first (across the spring-forward night: elapsed time)
    assert warning_times(due_at=due, policy=policy) == [
        (240, due - timedelta(hours=4)),
        (60, due - timedelta(hours=1)),
    ]
    # And thresholds already past are left out
    assert warning_times(due_at=due, policy=policy, after=due - timedelta(hours=2)) == [
        (60, due - timedelta(hours=1))
    ]
    # And odd stored values are cleaned: positive, once, largest first
    policy.warning_minutes = [60, "x", 240, 60, -5, 0, 30.0]
    assert [minutes for minutes, _at in warning_times(due_at=due, policy=policy)] == [240, 60, 30]


def test_due_preview_gives_every_kind_for_a_typed_arrival(shop, django_assert_num_queries):
    # Given a Shanghai shop whose organisation counts after-sales in working hours
    shop.time_zone = "Asia/Shanghai"
    shop.save()
    org_policy(shop, after_sales_business_hours=True, same_day_cutoff=time(16))
    arrival = at("Asia/Shanghai", "2026-06-05 16:30")  # a Friday after the cut-off
    # When previewed
    preview = due_preview(shop_account_id=shop.pk, arrival=arrival)
    # Then each kind's due time
    due = {kind: value.due_at if value else None for kind, value in preview.items()}
    assert due == {
        "first_reply": at("Asia/Shanghai", "2026-06-06 16:30"),
        "next_reply": at("Asia/Shanghai", "2026-06-06 16:30"),
        "after_sales": at("Asia/Shanghai", "2026-06-10 13:30"),
        "same_day": at("Asia/Shanghai", "2026-06-08 18:00"),
    }
    # When previewed with unsaved form values, then no query and those values apply
    unsaved = SlaPolicy(organisation=shop.organisation, same_day_enabled=False)
    with django_assert_num_queries(0):
        preview = due_preview(
            shop_account_id=shop.pk,
            arrival=arrival,
            policy=unsaved,
            calendar=default_calendar("Asia/Shanghai"),
        )
    assert preview["same_day"] is None
