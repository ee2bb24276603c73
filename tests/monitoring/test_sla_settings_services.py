"""The SLA settings services (monitoring.services.sla_settings) against the real database:
validation with the field it names, the audit rows, the recompute queued on commit with shop
ids, and a shop's override taking precedence over the organisation's until it is reverted."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from celery.signals import task_prerun
from django.utils import timezone

from inbox.models import Role, ShopAccount
from monitoring.models import AuditEvent, BusinessCalendar, Deadline, Holiday, SlaPolicy
from monitoring.services.sla_settings import (
    calendar_save,
    holiday_add,
    holiday_remove,
    holidays_import_ical,
    sla_policy_revert,
    sla_policy_save,
)
from monitoring.services.sla_values import PolicyValues, policy_values_clean, working_hours_clean
from monitoring.sla.policies import policy_for_shop
from scrm.api import NotFound, ServiceError
from tests.factories import make_person
from tests.inbox.builders import conversation_with_messages

pytestmark = pytest.mark.django_db

FORM = {
    "first_reply_minutes": "720",
    "next_reply_minutes": "1440",
    "next_reply_business_hours": "on",
    "after_sales_minutes": "1440",
    "same_day_enabled": "on",
    "same_day_cutoff": "16:30",
    "warning_minutes": "60, 240, 60",
    "robot_replies_close": "",
}
WEEK = {str(d): [["09:00", "12:00"], ["13:00", "18:00"]] if d < 5 else [] for d in range(7)}
ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1@test
DTSTART;VALUE=DATE:20270101
DTEND;VALUE=DATE:20270102
SUMMARY:New Year
END:VEVENT
BEGIN:VEVENT
UID:2@test
DTSTART;VALUE=DATE:20270210
DTEND;VALUE=DATE:20270213
SUMMARY:Spring Festival
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def recomputes():
    """The recompute tasks run (eagerly, as the suite runs tasks): their keyword arguments."""
    seen: list[dict] = []

    def record(sender=None, kwargs=None, **_):
        if sender is not None and sender.name == "monitoring.tasks.sla_recompute":
            seen.append(dict(kwargs or {}))

    task_prerun.connect(record, weak=False)
    yield seen
    task_prerun.disconnect(record)


def values(**changes) -> PolicyValues:
    return policy_values_clean({**FORM, **changes})


def actions(org) -> list[str]:
    return list(
        AuditEvent.objects.filter(organisation=org).order_by("id").values_list("action", flat=True)
    )


# --- validation --------------------------------------------------------------------------------
def test_policy_values_are_checked_and_normalised():
    clean = values()
    assert clean.first_reply_minutes == 720 and clean.next_reply_business_hours
    assert clean.same_day_cutoff == time(16, 30)
    assert clean.warning_minutes == [240, 60]  # distinct, largest first
    assert values(warning_minutes="").warning_minutes == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_reply_minutes", "0"),
        ("first_reply_minutes", "12h"),
        ("next_reply_minutes", "43201"),
        ("after_sales_minutes", ""),
        ("same_day_cutoff", "25:00"),
        ("same_day_cutoff", "5pm"),
        ("warning_minutes", "60, soon"),
        ("warning_minutes", "1,2,3,4,5,6,7"),
        ("warning_minutes", "60, ²"),
        ("after_sales_minutes", "²"),
        ("next_reply_minutes", "-5"),
    ],
)
def test_a_bad_policy_value_is_refused_naming_its_field(field, value):
    with pytest.raises(ServiceError) as refused:
        values(**{field: value})
    assert refused.value.details == {"field": field}
    assert refused.value.status_code == 400


def test_working_hours_are_ordered_and_checked():
    week = working_hours_clean(
        {"0": [["13:00", "18:00"], ["9:00", "12:00"]], "4": [["22:00", "24:00"]]}
    )
    assert week["0"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert week["4"] == [["22:00", "24:00"]] and week["6"] == []
    for bad, field in [
        ({"1": [["09:00", "9:00"]]}, "day1_1"),  # ends when it starts
        ({"1": [["18:00", "09:00"]]}, "day1_1"),
        ({"2": [["09:00", "13:00"], ["12:00", "18:00"]]}, "day2_2"),  # overlap
        ({"3": [["09:00", ""]]}, "day3_1"),
        ({"3": [["9", "12:00"]]}, "day3_1"),
        ({"3": [["24:00", "24:00"]]}, "day3_1"),
    ]:
        with pytest.raises(ServiceError) as refused:
            working_hours_clean(bad)
        assert refused.value.details == {"field": field}, bad


# --- policies ----------------------------------------------------------------------------------
def test_organisation_policy_then_shop_override_then_revert(
    world, recomputes, django_capture_on_commit_callbacks
):
    supervisor, a1, a2 = world.supervisor_a, world.shop_a1, world.shop_a2
    # When the supervisor saves the organisation's policy
    with django_capture_on_commit_callbacks(execute=True):
        org = sla_policy_save(actor=supervisor, shop_account_id=None, values=values())
    # Then every shop of the organisation follows it, and their deadlines are recomputed
    assert org.shop_account_id is None and org.updated_by_id == supervisor.pk
    assert policy_for_shop(a1.pk).pk == policy_for_shop(a2.pk).pk == org.pk
    org_shops = set(
        ShopAccount.objects.filter(organisation=world.org_a).values_list("id", flat=True)
    )
    assert [set(r["shop_account_ids"]) for r in recomputes] == [org_shops]

    # When shop a1 gets its own 24-hour first reply
    recomputes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        own = sla_policy_save(
            actor=supervisor, shop_account_id=a1.pk, values=values(first_reply_minutes="1440")
        )
    assert (
        policy_for_shop(a1.pk).pk == own.pk and policy_for_shop(a1.pk).first_reply_minutes == 1440
    )
    assert policy_for_shop(a2.pk).pk == org.pk
    assert recomputes == [{"shop_account_ids": [a1.pk]}]

    # When the organisation changes again, only the shops following it are recomputed
    recomputes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sla_policy_save(
            actor=supervisor, shop_account_id=None, values=values(same_day_cutoff="15:00")
        )
    assert (
        a1.pk not in recomputes[0]["shop_account_ids"]
        and a2.pk in recomputes[0]["shop_account_ids"]
    )
    assert SlaPolicy.objects.get(pk=own.pk).same_day_cutoff == time(16, 30)

    # When shop a1 follows the organisation again
    recomputes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sla_policy_revert(actor=supervisor, shop_account_id=a1.pk)
    assert not SlaPolicy.objects.filter(pk=own.pk).exists()
    assert policy_for_shop(a1.pk).pk == org.pk
    assert recomputes == [{"shop_account_ids": [a1.pk]}]
    assert actions(world.org_a) == [
        "sla_policy.created",
        "sla_policy.created",
        "sla_policy.updated",
        "sla_policy.reverted",
    ]
    updated = AuditEvent.objects.get(action="sla_policy.updated")
    assert updated.data["changed"] == {"same_day_cutoff": {"from": "16:30", "to": "15:00"}}
    assert updated.actor_id == supervisor.pk


def test_an_unchanged_save_and_a_revert_of_nothing_write_nothing(
    world, recomputes, django_capture_on_commit_callbacks
):
    sla_policy_save(actor=world.supervisor_a, shop_account_id=None, values=values())
    before = AuditEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        sla_policy_save(actor=world.supervisor_a, shop_account_id=None, values=values())
        sla_policy_revert(actor=world.supervisor_a, shop_account_id=world.shop_a1.pk)
    assert AuditEvent.objects.count() == before and recomputes == []


def test_agents_and_other_organisations_are_not_found(world):
    for who, shop_id in [
        (world.agent_a1, None),
        (world.agent_a1, world.shop_a1.pk),
        (world.supervisor_b, world.shop_a1.pk),
        (world.supervisor_a, 999_999_999_999_999_999_999),
    ]:
        with pytest.raises(NotFound):
            sla_policy_save(actor=who, shop_account_id=shop_id, values=values())
    with pytest.raises(NotFound):
        calendar_save(
            actor=world.supervisor_b,
            shop_account_id=world.shop_a1.pk,
            time_zone="UTC",
            working_hours=WEEK,
        )
    with pytest.raises(NotFound):
        holiday_add(actor=world.agent_a1, shop_account_id=world.shop_a1.pk, day=date(2027, 1, 1))
    assert not SlaPolicy.objects.exists() and not Holiday.objects.exists()


# --- calendars ---------------------------------------------------------------------------------
def test_calendar_save_sets_the_week_and_the_time_zone(
    world, recomputes, django_capture_on_commit_callbacks
):
    shop = world.shop_a1
    with django_capture_on_commit_callbacks(execute=True):
        calendar = calendar_save(
            actor=world.supervisor_a,
            shop_account_id=shop.pk,
            time_zone="Asia/Shanghai",
            working_hours=WEEK,
        )
    shop.refresh_from_db()
    assert shop.time_zone == "Asia/Shanghai"
    assert calendar.working_hours == WEEK and calendar.organisation_id == world.org_a.pk
    assert recomputes == [{"shop_account_ids": [shop.pk]}]
    assert actions(world.org_a) == ["shop_account.updated", "sla_calendar.updated"]
    # A bad week saves nothing, the time zone included
    with pytest.raises(ServiceError):
        calendar_save(
            actor=world.supervisor_a,
            shop_account_id=shop.pk,
            time_zone="Europe/Berlin",
            working_hours={"0": [["10:00", "09:00"]]},
        )
    shop.refresh_from_db()
    assert shop.time_zone == "Asia/Shanghai"
    with pytest.raises(ServiceError) as refused:
        calendar_save(
            actor=world.supervisor_a,
            shop_account_id=shop.pk,
            time_zone="Mars/Base",
            working_hours=WEEK,
        )
    assert refused.value.code == "invalid_time_zone"
    # The same again writes nothing and recomputes nothing
    recomputes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        calendar_save(
            actor=world.supervisor_a,
            shop_account_id=shop.pk,
            time_zone="Asia/Shanghai",
            working_hours=WEEK,
        )
    assert recomputes == [] and len(actions(world.org_a)) == 2


def test_holidays_added_removed_and_imported(world, recomputes, django_capture_on_commit_callbacks):
    shop, boss = world.shop_a1, world.supervisor_a
    with django_capture_on_commit_callbacks(execute=True):
        holiday = holiday_add(
            actor=boss, shop_account_id=shop.pk, day=date(2027, 1, 1), name="  New   Year "
        )
    assert (
        holiday.name == "New Year" and BusinessCalendar.objects.filter(shop_account=shop).exists()
    )
    assert recomputes == [{"shop_account_ids": [shop.pk]}]
    with pytest.raises(ServiceError) as refused:
        holiday_add(actor=boss, shop_account_id=shop.pk, day=date(2027, 1, 1))
    assert refused.value.status_code == 409
    # The file's New Year is skipped, Spring Festival's three days added
    with django_capture_on_commit_callbacks(execute=True):
        result = holidays_import_ical(actor=boss, shop_account_id=shop.pk, data=ICS)
    assert (result.added, result.skipped) == (3, 1)
    days = list(Holiday.objects.filter(calendar__shop_account=shop).values_list("date", "source"))
    assert days == [
        (date(2027, 1, 1), "manual"),
        (date(2027, 2, 10), "ical"),
        (date(2027, 2, 11), "ical"),
        (date(2027, 2, 12), "ical"),
    ]
    # Again: everything skipped, nothing recomputed
    recomputes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        again = holidays_import_ical(actor=boss, shop_account_id=shop.pk, data=ICS)
    assert (again.added, again.skipped) == (0, 4) and recomputes == []
    with pytest.raises(ServiceError) as refused:
        holidays_import_ical(actor=boss, shop_account_id=shop.pk, data=b"not a calendar")
    assert refused.value.details == {"field": "ical"}
    # Removing: only a holiday of that shop
    other = holiday_add(actor=boss, shop_account_id=world.shop_a2.pk, day=date(2027, 5, 1))
    with pytest.raises(NotFound):
        holiday_remove(actor=boss, shop_account_id=shop.pk, holiday_id=other.pk)
    holiday_remove(actor=boss, shop_account_id=shop.pk, holiday_id=holiday.pk)
    assert not Holiday.objects.filter(pk=holiday.pk).exists()
    assert actions(world.org_a) == [
        "sla_holiday.added",
        "sla_holidays.imported",
        "sla_holidays.imported",
        "sla_holiday.added",
        "sla_holiday.removed",
    ]
    imported = AuditEvent.objects.filter(action="sla_holidays.imported").first()
    assert imported.data == {"shop_account_id": shop.pk, "added": 3, "skipped": 1}


def test_an_admin_may_too_and_the_time_zone_setter_refuses_agents(world):
    admin = make_person(world.org_a, Role.ADMIN, username="admin_a")
    holiday_add(actor=admin, shop_account_id=world.shop_a1.pk, day=date(2027, 3, 1))
    from inbox.services.shop_accounts import shop_account_time_zone_set

    with pytest.raises(NotFound):
        shop_account_time_zone_set(
            actor=world.agent_a1, shop_account_id=world.shop_a1.pk, time_zone="UTC"
        )
    assert shop_account_time_zone_set(
        actor=admin, shop_account_id=world.shop_a1.pk, time_zone="Asia/Tokyo"
    )
    assert not shop_account_time_zone_set(
        actor=admin, shop_account_id=world.shop_a1.pk, time_zone="Asia/Tokyo"
    )


def test_a_change_recomputes_the_open_deadlines_in_the_background(
    world, django_capture_on_commit_callbacks
):
    # Given a buyer waiting an hour in shop a1, first reply due 24 h after they wrote
    with django_capture_on_commit_callbacks(execute=True):
        conversation = conversation_with_messages(world.shop_a1, waited=timedelta(hours=1))
    deadline = Deadline.objects.get(conversation=conversation, kind="first_reply", state="open")
    assert deadline.due_at == deadline.started_at + timedelta(hours=24)
    # When the shop gets its own 12-hour first reply (the task runs on commit)
    with django_capture_on_commit_callbacks(execute=True):
        sla_policy_save(actor=world.supervisor_a, shop_account_id=world.shop_a1.pk, values=values())
    deadline.refresh_from_db()
    assert deadline.due_at == deadline.started_at + timedelta(hours=12)
    # When it follows the organisation's (default 24 h) again
    with django_capture_on_commit_callbacks(execute=True):
        sla_policy_revert(actor=world.supervisor_a, shop_account_id=world.shop_a1.pk)
    deadline.refresh_from_db()
    assert deadline.due_at == deadline.started_at + timedelta(hours=24)


def test_a_time_zone_changed_in_the_shops_settings_recomputes_too(
    world, recomputes, django_capture_on_commit_callbacks
):
    from inbox.services.shop_accounts import shop_account_update

    admin = make_person(world.org_a, Role.ADMIN, username="admin_a")
    shop = world.shop_a1
    # When an admin moves the shop to another time zone on its settings page
    with django_capture_on_commit_callbacks(execute=True):
        shop_account_update(
            actor=admin,
            shop_account_id=shop.pk,
            name=shop.name,
            time_zone="Asia/Tokyo",
            assignment_mode=shop.assignment_mode,
        )
    assert recomputes == [{"shop_account_ids": [shop.pk]}]
    # A rename alone recomputes nothing; the calendar page's zone and week at once: once
    recomputes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        shop_account_update(
            actor=admin,
            shop_account_id=shop.pk,
            name="Renamed",
            time_zone="Asia/Tokyo",
            assignment_mode=shop.assignment_mode,
        )
        calendar_save(
            actor=admin, shop_account_id=shop.pk, time_zone="Asia/Seoul", working_hours=WEEK
        )
    assert recomputes == [{"shop_account_ids": [shop.pk]}]


def test_in_services_mode_a_change_is_recomputed_again_once_no_batch_holds_the_old_rules(
    world, django_capture_on_commit_callbacks
):
    # A worker's batch may hold a shop's rules for scrm.memo.MAX_AGE_SECONDS and open deadlines
    # on them after the first recompute ran: a second one is queued for after that.
    from celery.signals import before_task_publish

    from scrm.memo import MAX_AGE_SECONDS
    from tests.inbox.test_outbox import tasks_lost

    sent: list[dict] = []

    def record(sender=None, headers=None, body=None, **_):
        if sender == "monitoring.tasks.sla_recompute":
            sent.append({"eta": headers.get("eta"), "kwargs": body[1]})

    before_task_publish.connect(record, weak=False)
    try:
        with tasks_lost(), django_capture_on_commit_callbacks(execute=True):
            sla_policy_save(
                actor=world.supervisor_a,
                shop_account_id=world.shop_a1.pk,
                values=values(first_reply_minutes="90"),
            )
    finally:
        before_task_publish.disconnect(record)
    assert [r["kwargs"] for r in sent] == [{"shop_account_ids": [world.shop_a1.pk]}] * 2
    assert sent[0]["eta"] is None
    later = datetime.fromisoformat(sent[1]["eta"]) - timezone.now()
    assert MAX_AGE_SECONDS < later.total_seconds() <= MAX_AGE_SECONDS + 2
