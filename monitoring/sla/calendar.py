"""Calendar arithmetic for the SLA tracker: N minutes of wall-clock or working time after a
moment, and the same-day target (docs/sla.md, "Business hours and time zones").

Pure functions over a ``CalendarSpec`` (no database): ``monitoring.sla.policies`` builds the
spec from a shop's ``BusinessCalendar``, holidays and time zone.

Local wall times: a working interval's start and end are the shop's local clock times, so a
daylight-saving day's working day is an hour shorter or longer. A local time the clock skips
(02:30 on the spring-forward day) is read as the moment the clock jumps (03:00 new time); a
local time that happens twice (01:30 on the fall-back day) is its first occurrence. Every
function returns an aware datetime in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

Interval = tuple[time, time]
MIDNIGHT = time(0, 0)
# How far ahead a business-hours count looks for working time (holidays can pile up); past this
# the calendar has, for practical purposes, no working time.
MAX_SCAN_DAYS = 3660


class CalendarError(ValueError):
    """The calendar cannot give the answer: it has no working time (in reach)."""


@dataclass(frozen=True)
class CalendarSpec:
    """A shop's working week in its own time zone.

    ``working_hours``: seven tuples, Monday first, of ``(start, end)`` local times in order and
    not overlapping; an ``end`` of 00:00 means midnight at the end of that day (24:00); an empty
    tuple is a day off. ``holidays``: whole local days off.
    """

    time_zone: str
    working_hours: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.working_hours) != 7:
            raise ValueError("working_hours needs seven days, Monday first")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def has_working_time(self) -> bool:
        """Whether any weekday has a working interval (holidays aside)."""
        return any(_positive(interval) for day in self.working_hours for interval in day)


def _positive(interval: Interval) -> bool:
    start, end = interval
    return end == MIDNIGHT or start < end


def default_calendar(time_zone: str = "UTC") -> CalendarSpec:
    """Monday to Friday 09:00–18:00 in ``time_zone``, no holidays (a shop without a calendar)."""
    day = ((time(9, 0), time(18, 0)),)
    return CalendarSpec(time_zone=time_zone, working_hours=(day,) * 5 + ((),) * 2)


def round_the_clock(calendar: CalendarSpec) -> CalendarSpec:
    """Every day 00:00–24:00, the same holidays: the stand-in for a calendar without working
    time when a same-day end is needed."""
    return CalendarSpec(
        time_zone=calendar.time_zone,
        working_hours=(((MIDNIGHT, MIDNIGHT),),) * 7,
        holidays=calendar.holidays,
    )


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local ``day`` at ``at`` in ``tz``; a skipped time is the moment the
    clock jumps, a repeated time its first occurrence."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return first.astimezone(UTC)
    # In a gap: fold=1 reads it with the offset after the jump (an earlier instant, still
    # before the jump), fold=0 with the offset before it (later, already after the jump).
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first.astimezone(UTC)
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) < naive:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("an aware datetime is needed")
    return moment.astimezone(UTC)


def _day_intervals(
    day: date, calendar: CalendarSpec, tz: ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    """The UTC instants of ``day``'s working intervals (none on a holiday), empty ones left out."""
    if day in calendar.holidays:
        return
    for start, end in calendar.working_hours[day.weekday()]:
        opens = local_moment(day, start, tz)
        closes = (
            local_moment(day + timedelta(days=1), MIDNIGHT, tz)
            if end == MIDNIGHT
            else local_moment(day, end, tz)
        )
        if closes > opens:
            yield opens, closes


def add_minutes(
    start: datetime, minutes: int, *, calendar: CalendarSpec, business: bool
) -> datetime:
    """The moment ``minutes`` after ``start``: elapsed time (wall-clock: whatever daylight saving
    does, 24 h is 1,440 real minutes) or, with ``business``, that many minutes of the calendar's
    working time (holidays skipped; counting starts at the next opening when ``start`` is
    outside working time; a count that ends exactly at a closing is due at that closing).

    Raises ``CalendarError`` for a business count on a calendar with no working time in reach.
    """
    start_utc = _as_utc(start)
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if not business or minutes == 0:
        return start_utc + timedelta(minutes=minutes)
    if not calendar.has_working_time:
        raise CalendarError("the calendar has no working time")
    tz = calendar.tz
    remaining = timedelta(minutes=minutes)
    # The day before: its interval may end at 24:00, or run past a local midnight that moved.
    day = start_utc.astimezone(tz).date() - timedelta(days=1)
    for _offset in range(MAX_SCAN_DAYS):
        for opens, closes in _day_intervals(day, calendar, tz):
            opens = max(opens, start_utc)
            if closes <= opens:
                continue
            if closes - opens >= remaining:
                return opens + remaining
            remaining -= closes - opens
        day += timedelta(days=1)
    raise CalendarError("no working time within reach")


def working_day_end(day: date, *, calendar: CalendarSpec) -> datetime | None:
    """The end of ``day``'s last working interval (UTC), or None on a day off or holiday."""
    ends = [closes for _opens, closes in _day_intervals(day, calendar, calendar.tz)]
    return ends[-1] if ends else None


def same_day_due(start: datetime, *, calendar: CalendarSpec, cutoff: time) -> datetime:
    """The same-day target of a request made at ``start``: the end of that local day's working
    time when the day is a working day and the request came before min(``cutoff``, the day's
    end) — also when it came before the opening —; otherwise the end of the next working day.

    Raises ``CalendarError`` when the calendar has no working day in reach.
    """
    start_utc = _as_utc(start)
    tz = calendar.tz
    day = start_utc.astimezone(tz).date()
    end = working_day_end(day, calendar=calendar)
    if end is not None and start_utc < min(local_moment(day, cutoff, tz), end):
        return end
    if not calendar.has_working_time:
        raise CalendarError("the calendar has no working time")
    for _offset in range(MAX_SCAN_DAYS):
        day += timedelta(days=1)
        end = working_day_end(day, calendar=calendar)
        if end is not None:
            return end
    raise CalendarError("no working day within reach")


# --- The stored form: BusinessCalendar.working_hours -----------------------------------------


def _parse_clock(value: object, *, is_end: bool) -> time:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ValidationError(_("Times are written HH:MM, e.g. 09:00."), code="time_format")
    if is_end and value == "24:00":
        return MIDNIGHT
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            _("Times are written HH:MM, e.g. 09:00."), code="time_format"
        ) from None


def _parse_day(raw: object) -> tuple[Interval, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValidationError(_("Each day is a list of working intervals."), code="day_format")
    intervals: list[Interval] = []
    for pair in raw:
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise ValidationError(_("A working interval is a start and an end."), code="pair")
        start = _parse_clock(pair[0], is_end=False)
        end = _parse_clock(pair[1], is_end=True)
        if end != MIDNIGHT and end <= start:
            raise ValidationError(_("A working interval ends after it starts."), code="order")
        if intervals and (intervals[-1][1] == MIDNIGHT or start < intervals[-1][1]):
            raise ValidationError(
                _("A day's working intervals are in order and do not overlap."), code="overlap"
            )
        intervals.append((start, end))
    return tuple(intervals)


def working_hours_parse(
    data: Mapping[str, object], *, allow_empty_week: bool = False
) -> tuple[tuple[Interval, ...], ...]:
    """``BusinessCalendar.working_hours`` (``{"0".."6": [["HH:MM", "HH:MM"], ...]}``, Monday
    ``"0"``; ``"24:00"`` or ``"00:00"`` as an end is midnight) as ``CalendarSpec.working_hours``.

    Raises ``ValidationError`` for a malformed week, and for a week with no working time at all
    unless ``allow_empty_week`` (business-hours targets could never fall due in such a week).
    """
    if not isinstance(data, Mapping):
        raise ValidationError(_("Working hours are given per weekday."), code="week_format")
    week = tuple(_parse_day(data.get(str(weekday), [])) for weekday in range(7))
    if not allow_empty_week and not any(week):
        raise ValidationError(
            _("Give at least one working interval in the week."), code="no_working_time"
        )
    return week


def working_hours_format(week: Sequence[Sequence[Interval]]) -> dict[str, list[list[str]]]:
    """The inverse of ``working_hours_parse`` (ends at midnight written ``"24:00"``)."""
    return {
        str(weekday): [
            [start.strftime("%H:%M"), "24:00" if end == MIDNIGHT else end.strftime("%H:%M")]
            for start, end in intervals
        ]
        for weekday, intervals in enumerate(week)
    }


def time_zone_or_utc(name: str) -> str:
    """``name`` when the system knows it, else ``"UTC"`` (a stale stored name never breaks a
    due-time computation)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name
