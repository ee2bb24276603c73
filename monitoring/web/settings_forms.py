"""The SLA settings pages' forms as plain HTML fields: what a saved policy or week looks like in
them, and what a POST of them gives the services (which do the checking)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from monitoring.models import SlaPolicy
from monitoring.services.sla_values import MAX_INTERVALS

# The first-reply target one click away: TikTok's 24 hours, or the stricter 12 hours.
FIRST_REPLY_PRESETS = (
    ("1440", gettext_lazy("24 hours")),
    ("720", gettext_lazy("12 hours")),
)
MAX_PERIODS = 2  # working periods a day the form offers (morning and afternoon)
TARGET_FIELDS = ("first_reply", "next_reply", "after_sales")
FLAGS = (
    "first_reply_business_hours",
    "next_reply_business_hours",
    "after_sales_business_hours",
    "same_day_enabled",
    "robot_replies_close",
)
# Arrival times the preview computes: within these years (far dates overflow the calendar).
ARRIVAL_YEARS = (2000, 2100)


def policy_form(policy: SlaPolicy) -> dict[str, str]:
    """A policy as the form's field values."""
    first = str(policy.first_reply_minutes)
    preset = first if first in dict(FIRST_REPLY_PRESETS) else "custom"
    form = {
        "first_reply_preset": preset,
        "first_reply_custom": first,
        "next_reply_minutes": str(policy.next_reply_minutes),
        "after_sales_minutes": str(policy.after_sales_minutes),
        "same_day_cutoff": policy.same_day_cutoff.strftime("%H:%M"),
        "warning_minutes": ", ".join(str(m) for m in policy.warning_minutes or []),
    }
    form.update({flag: "on" if getattr(policy, flag) else "" for flag in FLAGS})
    return form


def policy_post(post: Mapping[str, Any]) -> dict[str, Any]:
    """A policy form's POST as ``policy_values_clean`` takes it: the first reply's minutes are
    the preset chosen, or the custom minutes typed."""
    values = {name: post.get(name) for name in post}
    preset = post.get("first_reply_preset", "")
    custom = preset not in dict(FIRST_REPLY_PRESETS)
    values["first_reply_minutes"] = post.get("first_reply_custom") if custom else preset
    return values


def _period(day: int, n: int, start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end, "field": f"day{day}_{n}", "name": f"day{day}_{n}"}


def week_form(working_hours: Mapping[str, list[list[str]]]) -> list[list[dict[str, str]]]:
    """Each weekday's periods as the form's fields (``start``, ``end``, their ``name`` prefix
    and the ``field`` a refusal names), at least ``MAX_PERIODS`` (blank ones to fill)."""
    week = []
    for day in range(7):
        stored = [(s, e) for s, e in (working_hours.get(str(day)) or [])]
        stored += [("", "")] * (MAX_PERIODS - len(stored))
        week.append([_period(day, n, s, e) for n, (s, e) in enumerate(stored, start=1)])
    return week


def week_post(post: Mapping[str, Any]) -> dict[str, list[list[str]]]:
    """The week's fields (``day<d>_<n>_start``/``_end``) as ``working_hours_clean`` takes them:
    a period with both fields blank is none; one left blank is refused there."""
    week: dict[str, list[list[str]]] = {}
    for day in range(7):
        periods = []
        for n in range(1, MAX_INTERVALS + 1):
            start = str(post.get(f"day{day}_{n}_start", "") or "").strip()
            end = str(post.get(f"day{day}_{n}_end", "") or "").strip()
            if start or end:
                periods.append([start, end])
        week[str(day)] = periods
    return week


def week_typed(post: Mapping[str, Any]) -> list[list[dict[str, str]]]:
    """The week as typed, for showing a refused save again (nothing lost)."""
    return [
        [
            _period(
                day,
                n,
                str(post.get(f"day{day}_{n}_start", "")),
                str(post.get(f"day{day}_{n}_end", "")),
            )
            for n in range(1, MAX_PERIODS + 1)
        ]
        for day in range(7)
    ]


def weekdays() -> list[str]:
    """Monday to Sunday in the active language."""
    return [str(WEEKDAYS[day]) for day in range(7)]


def arrival_parse(value: Any, zone: ZoneInfo) -> tuple[datetime | None, str]:
    """The preview's arrival (``YYYY-MM-DDTHH:MM``, shop time) as an aware time, and the
    reason when it is given but cannot be read (None, "": none given)."""
    text = str(value or "").strip()
    if not text:
        return None, ""
    try:
        naive = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        naive = None
    low, high = ARRIVAL_YEARS
    if naive is None or naive.tzinfo is not None or not low <= naive.year <= high:
        return None, _("Give the arrival as a date and a time, e.g. 2026-03-09 16:30.")
    return naive.replace(tzinfo=zone, second=0, microsecond=0), ""
