"""Holidays from an iCalendar file (RFC 5545), for a shop's business calendar
(docs/sla.md, "Time zones, daylight saving, holidays").

Each event gives whole days off: an all-day event (``DTSTART;VALUE=DATE``) each day from its
start up to, not including, its ``DTEND`` (one day without one); a timed event the day it
starts (in the shop's time zone when one is given and the time carries a zone). Recurring
events (``RRULE``, ``RDATE``, less ``EXDATE``) are expanded from 1 January of this year to
31 December two years on; a moved occurrence (``RECURRENCE-ID``) counts where it moved to.
Parsing by the maintained ``icalendar`` package; recurrence rules by ``python-dateutil``'s
``rrule`` (what ``icalendar`` itself builds on), walked lazily so a daily rule stays cheap
(``recurring-ical-events`` materialises every occurrence: ~0.3 ms each, seconds for a file of
daily series). Rules repeating more often than daily are refused: holidays are whole days.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rruleset, rrulestr
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MAX_ICAL_BYTES = 1024 * 1024
MAX_HOLIDAYS = 2000  # days in one import; a larger file is not a holiday list
NAME_LENGTH = 200  # Holiday.name
RECURRENCE_YEARS = 2
DAY_OR_LONGER = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


class ICalError(ValueError):
    """The file cannot be imported; ``message`` (translatable) says why, for the form."""

    def __init__(self, message: Promise | str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def _parse(data: bytes) -> icalendar.Calendar:
    if len(data) > MAX_ICAL_BYTES:
        raise ICalError(_("The file is larger than 1 MB; import a smaller calendar."))
    data = data.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark, as Windows tools write
    if not data.lstrip().upper().startswith(b"BEGIN:VCALENDAR"):
        raise ICalError(_("This is not an iCalendar (.ics) file."))
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, TypeError, KeyError, IndexError):
        raise ICalError(_("This is not an iCalendar (.ics) file.")) from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise ICalError(_("This is not an iCalendar (.ics) file."))
    return calendar


def _start_day(value: date | datetime, tz: ZoneInfo | None) -> date:
    if isinstance(value, datetime):
        if tz is not None and value.tzinfo is not None:
            value = value.astimezone(tz)
        return value.date()
    return value


def _event_days(event: Any, tz: ZoneInfo | None) -> list[date]:
    """The days one (occurrence of an) event covers."""
    start_prop = event.get("DTSTART")
    if start_prop is None:
        return []
    start = start_prop.dt
    first = _start_day(start, tz)
    if isinstance(start, datetime):
        return [first]
    end_prop = event.get("DTEND")
    if end_prop is not None:
        last = _start_day(end_prop.dt, tz)
    elif event.get("DURATION") is not None:
        last = first + event.get("DURATION").dt
    else:
        last = first + timedelta(days=1)
    count = max((last - first).days, 1)
    if count > MAX_HOLIDAYS:
        raise ICalError(_("The file has more holidays than one import takes (2,000 days)."))
    return [first + timedelta(days=offset) for offset in range(count)]


def _is_recurring(event: Any) -> bool:
    return any(event.get(key) is not None for key in ("RRULE", "RDATE"))


def _values(event: Any, key: str) -> list[Any]:
    """The dates or times of every ``key`` (RDATE, EXDATE, RECURRENCE-ID) line of an event."""
    lines = event.get(key)
    if lines is None:
        return []
    found: list[Any] = []
    for line in lines if isinstance(lines, list) else [lines]:
        for value in getattr(line, "dts", [line]):
            moment = value.dt
            found.append(moment[0] if isinstance(moment, tuple) else moment)  # a PERIOD
    return found


def _naive(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value, time())


def _occurrences(event: Any, window: tuple[date, date], moved: list[Any]) -> Iterator[Any]:
    """The starts of a recurring event's occurrences inside ``window``, as dates for an all-day
    event, else datetimes in the event's own zone; at most ``MAX_HOLIDAYS`` + 1."""
    start = event["DTSTART"].dt
    if _naive(start).year < 1900:
        raise ICalError(_("The file's events could not be read."))
    rules = rruleset()
    raw_rules = event.get("RRULE")
    for rule in raw_rules if isinstance(raw_rules, list) else [raw_rules] if raw_rules else []:
        if not set(rule.get("FREQ", [])) <= DAY_OR_LONGER:
            raise ICalError(_("An event repeats more often than daily; holidays are whole days."))
        text = rule.to_ical().decode()
        rules.rrule(rrulestr(text, dtstart=_naive(start), ignoretz=True))
    for extra in _values(event, "RDATE"):
        rules.rdate(_naive(extra))
    for skipped in [*_values(event, "EXDATE"), *moved]:
        rules.exdate(_naive(skipped))
    for count, moment in enumerate(rules.xafter(_naive(window[0]), inc=True)):
        if moment >= _naive(window[1]) or count > MAX_HOLIDAYS:
            return
        if isinstance(start, datetime):
            yield moment.replace(tzinfo=start.tzinfo)  # the event's own wall time
        else:
            yield moment.date()


def _shifted(event: Any, start: date | datetime) -> Any:
    """A copy of ``event`` starting at ``start``, ending as long after as the event lasts."""
    occurrence = icalendar.Event()
    occurrence.add("DTSTART", start)
    original = event["DTSTART"].dt
    if event.get("DTEND") is not None:
        occurrence.add("DTEND", start + (event["DTEND"].dt - original))
    elif event.get("DURATION") is not None:
        occurrence.add("DURATION", event["DURATION"].dt)
    return occurrence


def _events(calendar: icalendar.Calendar, today: date) -> Iterator[tuple[Any, str]]:
    """Each event or occurrence with its name: single events as they are (a moved occurrence
    is one), recurring ones expanded over this year and two more."""
    moved: dict[object, list[Any]] = {}
    events = list(calendar.walk("VEVENT"))
    for event in events:
        if event.get("RECURRENCE-ID") is not None:
            moved.setdefault(event.get("UID"), []).extend(_values(event, "RECURRENCE-ID"))
    window = (date(today.year, 1, 1), date(today.year + RECURRENCE_YEARS + 1, 1, 1))
    for event in events:
        name = str(event.get("SUMMARY", "")).strip()[:NAME_LENGTH]
        if event.get("DTSTART") is None:
            continue
        if not _is_recurring(event) or event.get("RECURRENCE-ID") is not None:
            yield event, name
            continue
        for start in _occurrences(event, window, moved.get(event.get("UID"), [])):
            yield _shifted(event, start), name


def holidays_from_ical(
    data: bytes, *, time_zone: str | None = None, today: date | None = None
) -> list[tuple[date, str]]:
    """The days off an iCalendar file names, ``(date, name)`` by date, each date once (the
    first event's name, cut to 200 characters).

    ``time_zone``: the shop's, for the day a timed event starts in; ``today`` (default: the
    current date) anchors the recurrence window. Raises ``ICalError`` (a ``ValueError``) for
    a file over 1 MB, a file that is not iCalendar, or one naming over 2,000 days.
    """
    calendar = _parse(data)
    tz = ZoneInfo(time_zone) if time_zone else None
    today = today or timezone.now().date()
    found: dict[date, str] = {}
    try:
        for event, name in _events(calendar, today):
            for day in _event_days(event, tz):
                found.setdefault(day, name)
                if len(found) > MAX_HOLIDAYS:
                    raise ICalError(
                        _("The file has more holidays than one import takes (2,000 days).")
                    )
    except ICalError:
        raise
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as error:
        raise ICalError(_("The file's events could not be read.")) from error
    return sorted(found.items())
