"""The SLA calendar arithmetic (monitoring.sla.calendar): wall-clock and working minutes, the
same-day end, across time zones, weekends, holidays, cut-offs, lunch breaks and both
daylight-saving changes. Every case asserts the exact moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from monitoring.sla.calendar import (
    CalendarError,
    CalendarSpec,
    add_minutes,
    default_calendar,
    local_moment,
    round_the_clock,
    same_day_due,
    working_hours_format,
    working_hours_parse,
)

LA, LONDON = "America/Los_Angeles", "Europe/London"
APIA = "Pacific/Apia"  # skipped 30 December 2011 when it crossed the date line
SHANGHAI, KL = "Asia/Shanghai", "Asia/Kuala_Lumpur"
GOLDEN_WEEK = frozenset(date(2026, 10, day) for day in range(1, 8))


def at(tz: str, text: str) -> datetime:
    """A shop-local wall time (first occurrence when repeated)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def week(*days: tuple[tuple[time, time], ...]) -> tuple[tuple[tuple[time, time], ...], ...]:
    return tuple(days) + ((),) * (7 - len(days))


def every_day(tz: str) -> CalendarSpec:
    return CalendarSpec(time_zone=tz, working_hours=(((time(9), time(18)),),) * 7)


def lunch_break(tz: str) -> CalendarSpec:
    day = ((time(9), time(12)), (time(13), time(18)))
    return CalendarSpec(time_zone=tz, working_hours=week(*(day,) * 5))


def sundays_only(tz: str, start: time, end: time) -> CalendarSpec:
    return CalendarSpec(time_zone=tz, working_hours=((),) * 6 + (((start, end),),))


WALL_CLOCK = [
    # (calendar tz, start local, minutes, expected local) — 24 h is 1,440 real minutes
    (LA, "2026-03-07 12:00", 1440, "2026-03-08 13:00"),  # spring forward: wall time +1 h
    (LA, "2026-10-31 12:00", 1440, "2026-11-01 11:00"),  # fall back: wall time -1 h
    (LONDON, "2026-03-28 12:00", 1440, "2026-03-29 13:00"),
    (LONDON, "2026-10-24 12:00", 1440, "2026-10-25 11:00"),
    (SHANGHAI, "2026-09-30 17:00", 1440, "2026-10-01 17:00"),  # holidays do not matter
    (KL, "2026-06-06 23:30", 720, "2026-06-07 11:30"),  # weekend does not matter
]


@pytest.mark.parametrize(("tz", "start", "minutes", "expected"), WALL_CLOCK)
def test_wall_clock_counts_elapsed_minutes(tz, start, minutes, expected):
    # Given a shop calendar with holidays and weekends
    calendar = CalendarSpec(tz, default_calendar(tz).working_hours, GOLDEN_WEEK)
    # When N wall-clock minutes are added
    due = add_minutes(at(tz, start), minutes, calendar=calendar, business=False)
    # Then the due time is N elapsed minutes later, in UTC
    assert due == at(tz, expected)
    assert due.tzinfo is UTC


BUSINESS = [
    # (calendar, start local, minutes, expected as an exact instant)
    (default_calendar(LA), at(LA, "2026-03-06 17:00"), 120, at(LA, "2026-03-09 10:00")),
    (default_calendar(LA), at(LA, "2026-03-09 09:00"), 540, at(LA, "2026-03-09 18:00")),
    (default_calendar(LA), at(LA, "2026-03-09 08:00"), 60, at(LA, "2026-03-09 10:00")),
    (default_calendar(LA), at(LA, "2026-03-09 19:00"), 60, at(LA, "2026-03-10 10:00")),
    (default_calendar(LA), at(LA, "2026-03-09 10:00"), 1440, at(LA, "2026-03-11 16:00")),
    (default_calendar(LA), at(LA, "2026-03-07 11:00"), 30, at(LA, "2026-03-09 09:30")),
    # London across both changes: Friday evening to Monday morning
    (default_calendar(LONDON), at(LONDON, "2026-03-27 17:00"), 120, utc("2026-03-30 09:00")),
    (default_calendar(LONDON), at(LONDON, "2026-10-23 17:30"), 60, utc("2026-10-26 09:30")),
    # Shanghai: the National Day week off
    (
        CalendarSpec(SHANGHAI, default_calendar(SHANGHAI).working_hours, GOLDEN_WEEK),
        at(SHANGHAI, "2026-09-30 17:00"),
        120,
        at(SHANGHAI, "2026-10-08 10:00"),
    ),
    # Kuala Lumpur with a lunch break: 11:30 + 60 working minutes skips 12:00–13:00
    (lunch_break(KL), at(KL, "2026-06-01 11:30"), 60, at(KL, "2026-06-01 13:30")),
    (lunch_break(KL), at(KL, "2026-06-01 12:15"), 60, at(KL, "2026-06-01 14:00")),
    (lunch_break(KL), at(KL, "2026-06-01 17:00"), 180, utc("2026-06-02 03:00")),  # Tue 11:00
    # A DST day's working day is shorter/longer: 01:00–04:00 local is 2 h, then 4 h
    (
        sundays_only(LA, time(1), time(4)),
        at(LA, "2026-03-08 00:00"),
        150,
        at(LA, "2026-03-15 01:30"),
    ),
    (sundays_only(LA, time(1), time(4)), at(LA, "2026-11-01 00:00"), 210, utc("2026-11-01 11:30")),
    # A skipped opening time opens at the jump (03:00 PDT); a repeated one at its first time
    (
        sundays_only(LA, time(2, 30), time(5)),
        at(LA, "2026-03-08 00:00"),
        60,
        utc("2026-03-08 11:00"),
    ),
    (
        sundays_only(LA, time(1, 30), time(3)),
        at(LA, "2026-11-01 00:00"),
        30,
        utc("2026-11-01 09:00"),
    ),
    # Round the clock: working minutes are elapsed minutes, across the jump
    (
        round_the_clock(default_calendar(LA)),
        at(LA, "2026-03-07 12:00"),
        1440,
        at(LA, "2026-03-08 13:00"),
    ),
    # A day that never happened has no working time
    (every_day(APIA), at(APIA, "2011-12-29 17:00"), 120, at(APIA, "2011-12-31 10:00")),
    # An interval ending at midnight (24:00)
    (
        CalendarSpec("UTC", week(((time(20), time(0)),))),
        utc("2026-06-01 23:00"),
        120,
        utc("2026-06-08 21:00"),
    ),
]


@pytest.mark.parametrize(("calendar", "start", "minutes", "expected"), BUSINESS)
def test_business_minutes_count_working_time_only(calendar, start, minutes, expected):
    # Given a calendar (time zone, working intervals, holidays) and a request time
    # When N working minutes are added
    due = add_minutes(start, minutes, calendar=calendar, business=True)
    # Then the due time is where the N-th working minute ends
    assert due == expected


def test_zero_minutes_is_the_start_and_negative_is_refused():
    start = at(LA, "2026-03-07 12:00")
    assert add_minutes(start, 0, calendar=default_calendar(LA), business=True) == start
    with pytest.raises(ValueError):
        add_minutes(start, -1, calendar=default_calendar(LA), business=False)


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError, match="aware"):
        add_minutes(datetime(2026, 3, 7), 60, calendar=default_calendar(LA), business=False)


def test_a_week_without_working_time_raises_instead_of_looping():
    # Given a calendar with no working interval on any day
    calendar = CalendarSpec(LA, ((),) * 7)
    # When a business-hours count or a same-day end is asked, then a CalendarError
    with pytest.raises(CalendarError):
        add_minutes(at(LA, "2026-03-09 10:00"), 60, calendar=calendar, business=True)
    with pytest.raises(CalendarError):
        same_day_due(at(LA, "2026-03-09 10:00"), calendar=calendar, cutoff=time(17))
    # And wall-clock still works
    assert add_minutes(at(LA, "2026-03-09 10:00"), 60, calendar=calendar, business=False) == at(
        LA, "2026-03-09 11:00"
    )


def test_holidays_on_every_day_in_reach_raise():
    # Given Sunday-only working and every Sunday for ten years a holiday
    sundays = frozenset(date.fromordinal(date(2026, 3, 8).toordinal() + 7 * n) for n in range(600))
    calendar = CalendarSpec(LA, sundays_only(LA, time(9), time(17)).working_hours, sundays)
    # When a working-minute count is asked, then it gives up with a CalendarError
    with pytest.raises(CalendarError):
        add_minutes(at(LA, "2026-03-08 10:00"), 60, calendar=calendar, business=True)


SAME_DAY = [
    # (calendar, cut-off, request, expected)
    (default_calendar(LA), time(17), at(LA, "2026-03-09 10:00"), at(LA, "2026-03-09 18:00")),
    (default_calendar(LA), time(17), at(LA, "2026-03-09 16:59"), at(LA, "2026-03-09 18:00")),
    (default_calendar(LA), time(17), at(LA, "2026-03-09 17:00"), at(LA, "2026-03-10 18:00")),
    (default_calendar(LA), time(17), at(LA, "2026-03-09 08:00"), at(LA, "2026-03-09 18:00")),
    (default_calendar(LA), time(17), at(LA, "2026-03-09 20:00"), at(LA, "2026-03-10 18:00")),
    # Friday after the cut-off, across the spring-forward weekend, to Monday's end (PDT)
    (default_calendar(LA), time(17), at(LA, "2026-03-06 17:30"), utc("2026-03-10 01:00")),
    (default_calendar(LA), time(17), at(LA, "2026-03-07 10:00"), at(LA, "2026-03-09 18:00")),
    # Cut-off after the day's end: the day's end is the limit
    (default_calendar(LA), time(19), at(LA, "2026-03-09 18:30"), at(LA, "2026-03-10 18:00")),
    (default_calendar(LONDON), time(17), at(LONDON, "2026-10-23 17:05"), utc("2026-10-26 18:00")),
    (default_calendar(LONDON), time(17), at(LONDON, "2026-03-27 12:00"), utc("2026-03-27 18:00")),
    # Shanghai: the shop's day, not UTC's; the National Day week skipped
    (default_calendar(SHANGHAI), time(17), utc("2026-06-01 02:00"), utc("2026-06-01 10:00")),
    (default_calendar(SHANGHAI), time(17), utc("2026-06-01 20:00"), utc("2026-06-02 10:00")),
    (default_calendar(SHANGHAI), time(17), utc("2026-06-01 15:30"), utc("2026-06-02 10:00")),
    (
        CalendarSpec(SHANGHAI, default_calendar(SHANGHAI).working_hours, GOLDEN_WEEK),
        time(17),
        at(SHANGHAI, "2026-09-30 17:30"),
        at(SHANGHAI, "2026-10-08 18:00"),
    ),
    (
        CalendarSpec(SHANGHAI, default_calendar(SHANGHAI).working_hours, GOLDEN_WEEK),
        time(17),
        at(SHANGHAI, "2026-10-03 11:00"),
        at(SHANGHAI, "2026-10-08 18:00"),
    ),
    (every_day(APIA), time(17), at(APIA, "2011-12-29 17:00"), at(APIA, "2011-12-31 18:00")),
    # Lunch break: the day's end is its last interval's end
    (lunch_break(KL), time(17), at(KL, "2026-06-01 12:30"), at(KL, "2026-06-01 18:00")),
    (lunch_break(KL), time(11), at(KL, "2026-06-01 12:30"), at(KL, "2026-06-02 18:00")),
]


@pytest.mark.parametrize(("calendar", "cutoff", "start", "expected"), SAME_DAY)
def test_same_day_due(calendar, cutoff, start, expected):
    # Given a calendar, a cut-off and a request time
    # When the same-day target is computed
    due = same_day_due(start, calendar=calendar, cutoff=cutoff)
    # Then it is that working day's end, or the next working day's end after the cut-off
    assert due == expected


def test_local_moment_reads_skipped_and_repeated_times_deterministically():
    tz = ZoneInfo(LA)
    # 02:30 does not exist on the spring-forward day: the jump, 03:00 PDT
    assert local_moment(date(2026, 3, 8), time(2, 30), tz) == utc("2026-03-08 10:00")
    # 01:30 happens twice on the fall-back day: the first (PDT)
    assert local_moment(date(2026, 11, 1), time(1, 30), tz) == utc("2026-11-01 08:30")
    # London's skipped 01:30 is 02:00 BST
    assert local_moment(date(2026, 3, 29), time(1, 30), ZoneInfo(LONDON)) == utc("2026-03-29 01:00")


def test_working_hours_parse_and_format_round_trip():
    # Given the stored form with a lunch break and a shift to midnight
    stored = {"0": [["09:00", "12:00"], ["13:00", "18:00"]], "5": [["20:00", "24:00"]]}
    # When parsed
    parsed = working_hours_parse(stored)
    # Then each weekday has its intervals (missing days are days off) and it formats back
    assert parsed[0] == ((time(9), time(12)), (time(13), time(18)))
    assert parsed[5] == ((time(20), time(0)),)
    assert parsed[1] == ()
    assert working_hours_format(parsed) == {
        "0": [["09:00", "12:00"], ["13:00", "18:00"]],
        "1": [],
        "2": [],
        "3": [],
        "4": [],
        "5": [["20:00", "24:00"]],
        "6": [],
    }


@pytest.mark.parametrize(
    ("stored", "code"),
    [
        ({"0": [["9:00", "18:00"]]}, "time_format"),
        ({"0": [["09:00", "25:00"]]}, "time_format"),
        ({"0": [["18:00", "09:00"]]}, "order"),
        ({"0": [["09:00", "13:00"], ["12:00", "18:00"]]}, "overlap"),
        ({"0": [["09:00", "24:00"], ["10:00", "11:00"]]}, "overlap"),
        ({"0": [["09:00"]]}, "pair"),
        ({"0": "09:00-18:00"}, "day_format"),
        ({}, "no_working_time"),
        ([], "week_format"),
    ],
)
def test_working_hours_parse_refuses_bad_weeks(stored, code):
    with pytest.raises(ValidationError) as raised:
        working_hours_parse(stored)
    assert raised.value.code == code


def test_an_empty_week_is_allowed_when_asked():
    assert working_hours_parse({}, allow_empty_week=True) == ((),) * 7


def test_a_refused_week_says_why_in_chinese_too():
    with pytest.raises(ValidationError) as raised, translation.override("zh-hans"):
        working_hours_parse({})
    with translation.override("zh-hans"):
        assert raised.value.messages == ["请在一周内至少设置一个工作时段。"]
