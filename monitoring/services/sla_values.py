"""The SLA settings' values as forms and API bodies give them, checked: an SLA policy's targets,
a working week's intervals, a holiday's date and name. Pure functions; a refusal is a
``ServiceError`` whose message is marked for translation and whose ``details["field"]`` names
the form field to show it beside."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from django.utils.translation import gettext_noop

from monitoring.models import Holiday, SlaPolicy
from scrm.api import ServiceError

# A target from one minute to 30 days; at most six warnings, each within 30 days.
MAX_TARGET_MINUTES = 30 * 24 * 60
MAX_WARNINGS = 6
MAX_INTERVALS = 4  # working intervals a day (the form offers two: morning and afternoon)
HOLIDAY_NAME_MAX = Holiday._meta.get_field("name").max_length or 200
_DIGITS = re.compile(r"^[0-9]{1,6}$")  # ASCII only: "²".isdigit() is True, int("²") fails
HOLIDAY_YEARS = (2000, 2100)
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?$")


@dataclass(frozen=True)
class PolicyValues:
    """An SLA policy's settings, validated (``policy_values_clean``)."""

    first_reply_minutes: int
    first_reply_business_hours: bool
    next_reply_minutes: int
    next_reply_business_hours: bool
    after_sales_minutes: int
    after_sales_business_hours: bool
    same_day_enabled: bool
    same_day_cutoff: time
    warning_minutes: list[int]
    robot_replies_close: bool


def refuse(message: str, field: str, code: str = "invalid") -> ServiceError:
    return ServiceError(message, code=code, details={"field": field})


def clock_time(value: Any, field: str) -> time:
    """``HH:MM`` (24-hour clock) as a time, or a refusal naming ``field``."""
    match = _HHMM.match(str(value or "").strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise refuse(gettext_noop("Write times as HH:MM, e.g. 09:00 or 17:30."), field)
    return time(int(match[1]), int(match[2]))


def _minutes(value: Any, field: str) -> int:
    text = str(value if value is not None else "").strip()
    if not _DIGITS.match(text) or not 1 <= int(text) <= MAX_TARGET_MINUTES:
        raise refuse(
            gettext_noop("Give a whole number of minutes from 1 to 43200 (30 days)."), field
        )
    return int(text)


def warning_list(value: Any) -> list[int]:
    """``"240, 60"`` (or a list) as distinct minutes before the due time, largest first; empty:
    no warnings."""
    parts = value if isinstance(value, list | tuple) else str(value or "").split(",")
    texts = [str(p).strip() for p in parts if str(p).strip()]
    if len(texts) > MAX_WARNINGS or not all(
        _DIGITS.match(t) and 1 <= int(t) <= MAX_TARGET_MINUTES for t in texts
    ):
        raise refuse(
            gettext_noop(
                "Warnings: up to six numbers of minutes before the due time, separated by "
                "commas (e.g. 240, 60)."
            ),
            "warning_minutes",
        )
    return sorted({int(t) for t in texts}, reverse=True)


def _flag(value: Any) -> bool:
    return value is True or str(value) in ("on", "1", "true", "True")


def policy_values_clean(data: Mapping[str, Any]) -> PolicyValues:
    """A policy form's (or an API body's) values checked: each target 1 to 43,200 minutes, the
    cut-off a clock time, the warnings a short list of minutes. Raises on the first problem."""
    return PolicyValues(
        first_reply_minutes=_minutes(data.get("first_reply_minutes"), "first_reply_minutes"),
        first_reply_business_hours=_flag(data.get("first_reply_business_hours")),
        next_reply_minutes=_minutes(data.get("next_reply_minutes"), "next_reply_minutes"),
        next_reply_business_hours=_flag(data.get("next_reply_business_hours")),
        after_sales_minutes=_minutes(data.get("after_sales_minutes"), "after_sales_minutes"),
        after_sales_business_hours=_flag(data.get("after_sales_business_hours")),
        same_day_enabled=_flag(data.get("same_day_enabled")),
        same_day_cutoff=clock_time(data.get("same_day_cutoff"), "same_day_cutoff"),
        warning_minutes=warning_list(data.get("warning_minutes")),
        robot_replies_close=_flag(data.get("robot_replies_close")),
    )


def policy_values_of(policy: SlaPolicy) -> PolicyValues:
    """A policy's (saved or default) values."""
    return PolicyValues(
        **{name: getattr(policy, name) for name in PolicyValues.__dataclass_fields__}
    )


def _day_minute(value: Any, field: str, *, end: bool) -> int:
    """A working period's start or end as minutes after midnight; an end may be 24:00."""
    if end and str(value or "").strip() in ("24:00", "24:00:00"):
        return 24 * 60
    at = clock_time(value, field)
    return at.hour * 60 + at.minute


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def working_hours_clean(days: Mapping[Any, Sequence[Sequence[Any]]]) -> dict[str, list[list[str]]]:
    """Seven days (Monday ``"0"``) of working periods in shop time, each ``HH:MM``–``HH:MM``
    (an end of 24:00 is midnight) with its start before its end, put in order, none
    overlapping (touching is fine); a day missing or empty is a day off. The stored form of
    ``BusinessCalendar.working_hours``."""
    cleaned: dict[str, list[list[str]]] = {}
    for day in range(7):
        periods = []
        for n, pair in enumerate(days.get(str(day), days.get(day, [])) or []):
            field = f"day{day}_{n + 1}"
            if len(pair) != 2:
                raise refuse(gettext_noop("Give both a start and an end time."), field)
            start = _day_minute(pair[0], field, end=False)
            end = _day_minute(pair[1], field, end=True)
            if start >= end:
                raise refuse(
                    gettext_noop("A working period must end after it starts (same day)."), field
                )
            periods.append((start, end, field))
        if len(periods) > MAX_INTERVALS:
            raise refuse(gettext_noop("At most four working periods a day."), f"day{day}_1")
        periods.sort()
        for (_s1, end1, _f1), (start2, _e2, field2) in itertools.pairwise(periods):
            if start2 < end1:
                raise refuse(gettext_noop("A day's working periods must not overlap."), field2)
        cleaned[str(day)] = [[_hhmm(s), _hhmm(e)] for s, e, _f in periods]
    return cleaned


def holiday_date(value: Any) -> date:
    """A holiday's date, ``YYYY-MM-DD``, between 2000 and 2100."""
    try:
        day = date.fromisoformat(str(value or "").strip())
    except ValueError:
        day = None
    if day is None or not HOLIDAY_YEARS[0] <= day.year <= HOLIDAY_YEARS[1]:
        raise refuse(gettext_noop("Give the date as YYYY-MM-DD."), "date")
    return day


def holiday_name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if len(name) > HOLIDAY_NAME_MAX or not name.isprintable():
        raise refuse(gettext_noop("Give a name of at most 200 characters."), "name")
    return name
