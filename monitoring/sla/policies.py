"""Which SLA policy and calendar a shop follows, and the due time they give a request
(docs/sla.md, "Targets" and "Business hours and time zones").

Nothing is cached between calls: a policy or calendar saved a moment ago applies to the next
request. ``deadline_due`` runs for every buyer message, so it reads them in one query (the
shop with its calendar, the policy it follows and its holidays) and takes a policy and a
calendar already read, for callers that compute many due times at once (recompute).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Aggregate, F, JSONField, OuterRef, Q, Subquery
from django.db.models.functions import JSONObject

from inbox.models import ShopAccount
from monitoring.models.sla import (
    BusinessCalendar,
    DeadlineKind,
    Holiday,
    SlaPolicy,
    default_working_hours,
)
from monitoring.sla.calendar import (
    CalendarError,
    CalendarSpec,
    add_minutes,
    round_the_clock,
    same_day_due,
    time_zone_or_utc,
    working_hours_parse,
)
from scrm.compiled import read_compiled

# The N-minute targets: kind → (minutes field, business-hours flag) on SlaPolicy.
MINUTE_TARGETS: dict[str, tuple[str, str]] = {
    DeadlineKind.FIRST_REPLY: ("first_reply_minutes", "first_reply_business_hours"),
    DeadlineKind.NEXT_REPLY: ("next_reply_minutes", "next_reply_business_hours"),
    DeadlineKind.AFTER_SALES: ("after_sales_minutes", "after_sales_business_hours"),
}


@dataclass
class DueTime:
    """A deadline's due time and the rule that gave it (stored as ``Deadline.rule``)."""

    due_at: datetime
    rule: dict[str, Any] = field(default_factory=dict)


# What a wait that starts reads (every buyer message a human has not answered yet): the shop's
# organisation, time zone and week, the policy it follows and its holidays, in one statement
# compiled once per process (``read_compiled``). The policy and the holidays come back as JSON
# built by the database (a policy row, a list of dates) and are typed here by their fields.
_POLICY_FIELDS = tuple(f.attname for f in SlaPolicy._meta.concrete_fields)


class _JSONArrayAgg(Aggregate):
    """A column's values as one JSON array: PostgreSQL's ``JSONB_AGG``, SQLite's
    ``JSON_GROUP_ARRAY``."""

    function = "JSONB_AGG"
    output_field = JSONField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra)


def _shop_rules_query(shop_account_id: int) -> Any:
    shop = OuterRef("pk")
    hours = BusinessCalendar.objects.filter(shop_account=shop).values("working_hours")
    # The shop's own policy, else its organisation's (no row: the defaults).
    policy = (
        SlaPolicy.objects.filter(organisation_id=OuterRef("organisation_id"))
        .filter(Q(shop_account_id=shop) | Q(shop_account__isnull=True))
        .order_by(F("shop_account_id").asc(nulls_last=True))
        .values(row=JSONObject(**{name: F(name) for name in _POLICY_FIELDS}))
    )
    holidays = (
        Holiday.objects.filter(calendar__shop_account_id=shop)
        .values("calendar_id")
        .annotate(dates=_JSONArrayAgg("date"))
        .values("dates")
    )
    return (
        ShopAccount.objects.filter(pk=shop_account_id)
        .annotate(
            calendar_hours=Subquery(hours[:1], output_field=JSONField()),
            policy_row=Subquery(policy[:1], output_field=JSONField()),
            holiday_dates=Subquery(holidays[:1], output_field=JSONField()),
        )
        .values_list(
            "organisation_id", "time_zone", "calendar_hours", "policy_row", "holiday_dates"
        )
    )


def _shop_row(shop_account_id: int) -> dict[str, Any]:
    """The shop's organisation, time zone, calendar week, policy and holidays: one query."""
    rows = read_compiled("sla.shop_rules", _shop_rules_query, shop_account_id)
    if not rows:
        raise ShopAccount.DoesNotExist("ShopAccount matching query does not exist.")
    organisation_id, time_zone, calendar_hours, policy_row, holiday_dates = rows[0]
    return {
        "organisation_id": organisation_id,
        "time_zone": time_zone,
        "calendar_hours": calendar_hours,
        "policy_row": policy_row,
        "holiday_dates": holiday_dates or [],
    }


def _policy_from_json(row: dict[str, Any]) -> SlaPolicy:
    """The policy the database gave as JSON, each value typed by its field as a read of the
    row types it (times and datetimes come as text, SQLite's booleans as 0/1, SQLite's JSON
    column as its text)."""
    values = []
    for model_field in SlaPolicy._meta.concrete_fields:
        value = row.get(model_field.attname)
        if value is not None:
            if isinstance(model_field, JSONField):
                value = json.loads(value) if isinstance(value, str) else value
            else:
                value = model_field.to_python(value)
                if isinstance(value, datetime) and value.tzinfo is None:
                    value = value.replace(tzinfo=UTC)  # SQLite keeps UTC without its offset
        values.append(value)
    return SlaPolicy.from_db("default", _POLICY_FIELDS, values)


def _policy(row: dict[str, Any]) -> SlaPolicy:
    stored = row["policy_row"]
    if stored is None:
        return SlaPolicy(organisation_id=row["organisation_id"])
    return _policy_from_json(stored)


def _calendar(row: dict[str, Any]) -> CalendarSpec:
    stored = row["calendar_hours"]  # None: the shop has no BusinessCalendar row
    try:
        week = working_hours_parse(
            default_working_hours() if stored is None else stored, allow_empty_week=True
        )
    except ValidationError:  # a row saved around the validation: the default week, not a failure
        week = working_hours_parse(default_working_hours())
    return CalendarSpec(
        time_zone=time_zone_or_utc(row["time_zone"]),
        working_hours=week,
        holidays=frozenset(date.fromisoformat(day) for day in row["holiday_dates"]),
    )


def policy_and_calendar_for_shop(
    shop_account_id: int, *, policy: SlaPolicy | None = None, calendar: CalendarSpec | None = None
) -> tuple[SlaPolicy, CalendarSpec]:
    """The shop's policy and calendar (``policy_for_shop``, ``calendar_for_shop``) in one
    query, or the ones given: read once, pass them to ``deadline_due`` for many due
    times of one shop. Raises ``ShopAccount.DoesNotExist``."""
    return _resolve(shop_account_id, policy, calendar)


def _resolve(
    shop_account_id: int, policy: SlaPolicy | None, calendar: CalendarSpec | None
) -> tuple[SlaPolicy, CalendarSpec]:
    """The given policy and calendar, reading what is missing (one query)."""
    if policy is not None and calendar is not None:
        return policy, calendar
    row = _shop_row(shop_account_id)
    if policy is None:
        policy = _policy(row)
    if calendar is None:
        calendar = _calendar(row)
    return policy, calendar


def policy_for_shop(shop_account_id: int) -> SlaPolicy:
    """The policy the shop follows: its own override, else its organisation's, else an unsaved
    default (``pk`` None: 24 h targets, wall-clock, same-day with a 17:00 cut-off, warnings
    4 h and 1 h before). One query. Raises ``ShopAccount.DoesNotExist``."""
    return _policy(_shop_row(shop_account_id))


def calendar_for_shop(shop_account_id: int) -> CalendarSpec:
    """The shop's calendar: its time zone (``ShopAccount.time_zone``), its working week (the
    default Monday–Friday 09:00–18:00 without a ``BusinessCalendar``) and its holidays. One
    query. Raises ``ShopAccount.DoesNotExist``."""
    return _calendar(_shop_row(shop_account_id))


def _minutes_due(
    kind: str, started_at: datetime, policy: SlaPolicy, calendar: CalendarSpec
) -> DueTime | None:
    minutes_field, business_field = MINUTE_TARGETS[kind]
    minutes: int = getattr(policy, minutes_field)
    business: bool = getattr(policy, business_field)
    if not minutes:
        return None
    rule: dict[str, Any] = {"minutes": minutes, "business_hours": business}
    if business and not calendar.has_working_time:
        business = False
        rule["business_fallback"] = "no_working_time"
    try:
        due_at = add_minutes(started_at, minutes, calendar=calendar, business=business)
    except CalendarError:  # holidays cover every working day in reach
        rule["business_fallback"] = "no_working_time"
        due_at = add_minutes(started_at, minutes, calendar=calendar, business=False)
    return DueTime(due_at=due_at, rule=rule)


def _same_day(started_at: datetime, policy: SlaPolicy, calendar: CalendarSpec) -> DueTime:
    cutoff: time = policy.same_day_cutoff
    rule: dict[str, Any] = {"cutoff": cutoff.strftime("%H:%M")}
    try:
        due_at = same_day_due(started_at, calendar=calendar, cutoff=cutoff)
    except CalendarError:  # no working day: the end of the (next) whole day off-holiday
        rule["business_fallback"] = "no_working_time"
        due_at = same_day_due(started_at, calendar=round_the_clock(calendar), cutoff=cutoff)
    return DueTime(due_at=due_at, rule=rule)


def deadline_due(
    *,
    kind: str,
    started_at: datetime,
    shop_account_id: int,
    platform_deadline: datetime | None = None,
    policy: SlaPolicy | None = None,
    calendar: CalendarSpec | None = None,
) -> DueTime | None:
    """When a ``kind`` deadline of a request made at ``started_at`` in the shop falls due, and
    the rule applied; None when the policy turns that target off (0 minutes, same-day off).

    Invariants: after-sales is due by the platform's ``platform_deadline`` when that is earlier
    (``rule["platform_deadline"]`` True), also when the policy's own after-sales target is off;
    a business-hours target on a calendar without working time counts wall-clock time
    (``rule["business_fallback"]``); one query without ``policy``/``calendar``.
    """
    policy, calendar = _resolve(shop_account_id, policy, calendar)
    if kind == DeadlineKind.SAME_DAY:
        due = _same_day(started_at, policy, calendar) if policy.same_day_enabled else None
    elif kind in MINUTE_TARGETS:
        due = _minutes_due(kind, started_at, policy, calendar)
    else:
        raise ValueError(f"unknown deadline kind {kind!r}")
    if kind == DeadlineKind.AFTER_SALES:
        due = _platform_cap(due, platform_deadline)
    if due is not None:
        due.rule.update(
            kind=kind,
            policy=policy.pk,
            time_zone=calendar.time_zone,
            warnings=warning_minutes(policy),
        )
    return due


def _platform_cap(due: DueTime | None, platform_deadline: datetime | None) -> DueTime | None:
    if platform_deadline is None:
        if due is not None:
            due.rule["platform_deadline"] = False
        return due
    if due is None:
        return DueTime(due_at=platform_deadline, rule={"platform_deadline": True})
    earlier = platform_deadline < due.due_at
    due.rule["platform_deadline"] = earlier
    if earlier:
        due.due_at = platform_deadline
    return due


def warning_minutes(policy: SlaPolicy) -> list[int]:
    """The policy's warning thresholds: positive whole minutes, no repeats, largest first."""
    raw = policy.warning_minutes if isinstance(policy.warning_minutes, list) else []
    kept = {
        int(value)
        for value in raw
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    }
    return sorted(kept, reverse=True)


def warning_times(
    *, due_at: datetime, policy: SlaPolicy, after: datetime | None = None
) -> list[tuple[int, datetime]]:
    """``(threshold_minutes, moment)`` of each warning, earliest first: ``threshold`` minutes of
    wall-clock time before ``due_at``; with ``after``, only the moments later than it (a
    threshold already passed when the deadline opens is never alerted)."""
    times = [(minutes, due_at - timedelta(minutes=minutes)) for minutes in warning_minutes(policy)]
    return [(minutes, at) for minutes, at in times if after is None or at > after]


def due_preview(
    *,
    shop_account_id: int,
    arrival: datetime,
    policy: SlaPolicy | None = None,
    calendar: CalendarSpec | None = None,
) -> dict[str, DueTime | None]:
    """For the calendar page: when each kind of deadline of a request arriving at ``arrival``
    would fall due under the shop's policy and calendar (or the ones given, e.g. unsaved form
    values). After-sales without a platform deadline. Kind → due time, None where turned off."""
    policy, calendar = _resolve(shop_account_id, policy, calendar)
    return {
        kind: deadline_due(
            kind=kind,
            started_at=arrival,
            shop_account_id=shop_account_id,
            policy=policy,
            calendar=calendar,
        )
        for kind in DeadlineKind.values
    }
