"""Holidays from an iCalendar file (RFC 5545), for a shop's business calendar
(docs/sla.md, "Holidays").

Each event gives whole days off: an all-day event (``DTSTART;VALUE=DATE``) each day from its
start up to, not including, its ``DTEND`` (one day without one); a timed event the day it
starts (in the shop's time zone when one is given and the time carries a zone). Recurring
events (``RRULE``, ``RDATE``, less ``EXDATE``) are expanded from 1 January of this year to
31 December two years on. Parsing by the maintained ``icalendar`` package, recurrences by
``recurring-ical-events``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MAX_ICAL_BYTES = 1024 * 1024
MAX_HOLIDAYS = 2000  # days in one import; a larger file is not a holiday list
NAME_LENGTH = 200  # Holiday.name
RECURRENCE_YEARS = 2


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


def _events(calendar: icalendar.Calendar, today: date) -> Iterable[Any]:
    """Single events as they are, recurring ones expanded over this year and two more."""
    series: set[object] = set()
    for event in calendar.walk("VEVENT"):
        if _is_recurring(event) or event.get("RECURRENCE-ID") is not None:
            series.add(event.get("UID"))
    for event in calendar.walk("VEVENT"):
        if event.get("UID") not in series:
            yield event
    if not series:
        return
    window = (date(today.year, 1, 1), date(today.year + RECURRENCE_YEARS + 1, 1, 1))
    for occurrence in recurring_ical_events.of(calendar, components=["VEVENT"]).between(*window):
        if occurrence.get("UID") in series:
            yield occurrence


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
        for event in _events(calendar, today):
            name = str(event.get("SUMMARY", "")).strip()[:NAME_LENGTH]
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
