"""Formatting for the shop-score pages: durations, shares and the status words."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

register = template.Library()

STATUS_LABELS = {
    "ready": gettext_lazy("Ready for campaigns"),
    "promotion": gettext_lazy("Enough for promotions"),
    "at_risk": gettext_lazy("At risk"),
    "no_data": gettext_lazy("Nothing to count yet"),
    "not_available": gettext_lazy("Not available"),
}
TREND_LABELS = {
    "better": gettext_lazy("better"),
    "worse": gettext_lazy("worse"),
    "flat": gettext_lazy("steady"),
}


@register.filter
def duration(seconds: float | int | None) -> str:
    """``3 h 12 min``, ``45 min``, ``30 s``; an en dash for no value."""
    if seconds is None:
        return "–"
    total = round(seconds)
    if total < 60:
        return _("%(n)d s") % {"n": total}
    hours, minutes = divmod(total // 60, 60)
    if hours >= 48:
        return _("%(d)d d %(h)d h") % {"d": hours // 24, "h": hours % 24}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    return _("%(m)d min") % {"m": minutes}


@register.filter
def percent(share: float | None, digits: int = 1) -> str:
    """A share 0–1 as ``57.1%``; an en dash for no value."""
    if share is None:
        return "–"
    return f"{share * 100:.{int(digits)}f}%"


@register.filter
def figure(value: float | None, unit: str) -> str:
    """A threshold's value in its unit (a share or seconds)."""
    return duration(value) if unit == "seconds" else percent(value)


@register.filter
def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@register.filter
def trend_label(trend: str) -> str:
    return str(TREND_LABELS.get(trend, "")) if trend else "–"
