"""The SLA countdown badge of queue rows and case cards (static/inbox/sla.js keeps it ticking
and live on ``sla.deadline``)."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from inbox.payloads_deadline import zone_or_utc

register = template.Library()


def countdown(seconds: float) -> str:
    """ "2h 14m", "3d 4h", "35m"; the JavaScript mirrors it."""
    minutes = max(0, int(seconds // 60))
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return _("%(d)sd %(h)sh") % {"d": days, "h": hours}
    if hours:
        return _("%(h)sh %(m)sm") % {"h": hours, "m": mins}
    return _("%(m)sm") % {"m": mins}


def badge_text(due_at: datetime, now: datetime) -> str:
    left = (due_at - now).total_seconds()
    if left <= 0:
        return _("overdue %(time)s") % {"time": countdown(-left)}
    return countdown(left)


def _at(value: datetime, zone: zoneinfo.ZoneInfo) -> str:
    return formats.date_format(value.astimezone(zone).replace(tzinfo=None), "SHORT_DATETIME_FORMAT")


def badge_title(due_at: datetime, shop_zone: str, viewer_zone: str) -> str:
    shop, viewer = zone_or_utc(shop_zone), zone_or_utc(viewer_zone)
    return _("Due %(shop)s shop time (%(shop_zone)s) · %(viewer)s your time (%(viewer_zone)s)") % {
        "shop": _at(due_at, shop),
        "shop_zone": str(shop),
        "viewer": _at(due_at, viewer),
        "viewer_zone": str(viewer),
    }


def _viewer_zone(context: Any) -> str:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return "UTC"
    from inbox.selectors.accounts import member_for

    try:
        return member_for(user).time_zone or "UTC"
    except Exception:  # an operator without an organisation: UTC
        return "UTC"


@register.simple_tag(takes_context=True)
def sla_badge(
    context: Any, deadline: dict[str, Any] | None, subject: str, pk: int, shop_zone: str
) -> SafeString:
    """The badge's slot (always there, so a live event can fill it) with the badge when the row
    has an open deadline: green (ok), amber (inside the warning window), red (breached)."""
    slot = '<span class="sla-slot" data-sla-slot data-subject="{}" data-id="{}" data-zone="{}">'
    if not deadline:
        return format_html(slot + "</span>", subject, pk, shop_zone)
    due_at = datetime.fromisoformat(deadline["due_at"])
    warn_at = deadline.get("warn_at") or ""
    return format_html(
        slot + '<span class="sla-badge sla-{}" data-sla-badge data-due="{}" data-warn="{}" '
        'data-kind="{}" title="{}"><span class="visually-hidden">{} </span>'
        "<span data-sla-text>{}</span></span></span>",
        subject,
        pk,
        shop_zone,
        deadline.get("state", "ok"),
        deadline["due_at"],
        warn_at,
        deadline.get("kind", ""),
        badge_title(due_at, shop_zone, _viewer_zone(context)),
        _("Reply due:") if subject == "conversation" else _("Decision due:"),
        badge_text(due_at, timezone.now()),
    )


@register.simple_tag(takes_context=True)
def sla_strings(context: Any) -> dict[str, str]:
    """What static/inbox/sla.js shows, translated here (``json_script`` it as #sla-strings)."""
    return {
        "dh": _("%(d)sd %(h)sh"),
        "hm": _("%(h)sh %(m)sm"),
        "m": _("%(m)sm"),
        "overdue": _("overdue %(time)s"),
        "title": _(
            "Due %(shop)s shop time (%(shop_zone)s) · %(viewer)s your time (%(viewer_zone)s)"
        ),
        "reply_due": _("Reply due:"),
        "decision_due": _("Decision due:"),
        "viewer_zone": str(zone_or_utc(_viewer_zone(context))),
    }
