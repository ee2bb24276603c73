"""The SLA countdown badge of queue rows and case cards (static/inbox/sla.js keeps it ticking
and live on ``sla.deadline``)."""

from __future__ import annotations

import html
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import template
from django.utils import dateformat, formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from inbox.payloads_deadline import zone_or_utc

register = template.Library()


@dataclass(frozen=True)
class _Texts:
    """What every badge of a page says alike, translated and looked up once per request and
    language (a queue page draws 50 badges)."""

    dh: str
    hm: str
    m: str
    overdue: str
    title: str
    reply_due: str
    decision_due: str
    datetime_format: str
    viewer_zone: zoneinfo.ZoneInfo


def _texts_now(viewer_zone: str) -> _Texts:
    return _Texts(
        dh=_("%(d)sd %(h)sh"),
        hm=_("%(h)sh %(m)sm"),
        m=_("%(m)sm"),
        overdue=_("overdue %(time)s"),
        title=_("Due %(shop)s shop time (%(shop_zone)s) · %(viewer)s your time (%(viewer_zone)s)"),
        reply_due=_("Reply due:"),
        decision_due=_("Decision due:"),
        datetime_format=str(formats.get_format("SHORT_DATETIME_FORMAT")),
        viewer_zone=zone_or_utc(viewer_zone),
    )


def _texts(context: Any) -> _Texts:
    """The request's texts for the active language (remembered on the request)."""
    request = context.get("request")
    language = get_language()
    cached = getattr(request, "_sla_badge_texts", None)
    if cached is not None and cached[0] == language:
        return cached[1]
    texts = _texts_now(_viewer_zone(context))
    if request is not None:
        request._sla_badge_texts = (language, texts)
    return texts


def countdown(seconds: float, texts: _Texts | None = None) -> str:
    """ "2h 14m", "3d 4h", "35m"; the JavaScript mirrors it."""
    t = texts or _texts_now("UTC")
    minutes = max(0, int(seconds // 60))
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return t.dh % {"d": days, "h": hours}
    if hours:
        return t.hm % {"h": hours, "m": mins}
    return t.m % {"m": mins}


def badge_text(due_at: datetime, now: datetime, texts: _Texts | None = None) -> str:
    t = texts or _texts_now("UTC")
    left = (due_at - now).total_seconds()
    if left <= 0:
        return t.overdue % {"time": countdown(-left, t)}
    return countdown(left, t)


def _at(value: datetime, zone: zoneinfo.ZoneInfo, texts: _Texts) -> str:
    # formats.date_format(value, "SHORT_DATETIME_FORMAT"), the format looked up once.
    return dateformat.format(value.astimezone(zone).replace(tzinfo=None), texts.datetime_format)


def badge_title(
    due_at: datetime, shop_zone: str, viewer_zone: str, texts: _Texts | None = None
) -> str:
    t = texts or _texts_now(viewer_zone)
    shop, viewer = zone_or_utc(shop_zone), zone_or_utc(viewer_zone)
    return t.title % {
        "shop": _at(due_at, shop, t),
        "shop_zone": str(shop),
        "viewer": _at(due_at, viewer, t),
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
    if not deadline:
        return _html(_SLOT + "</span>", subject, pk, shop_zone)
    texts = _texts(context)
    due_at = datetime.fromisoformat(deadline["due_at"])
    return _html(
        _BADGE,
        subject,
        pk,
        shop_zone,
        deadline.get("state", "ok"),
        deadline["due_at"],
        deadline.get("warn_at") or "",
        deadline.get("kind", ""),
        badge_title(due_at, shop_zone, str(texts.viewer_zone), texts),
        texts.reply_due if subject == "conversation" else texts.decision_due,
        badge_text(due_at, timezone.now(), texts),
    )


_SLOT = '<span class="sla-slot" data-sla-slot data-subject="{}" data-id="{}" data-zone="{}">'
_BADGE = (
    _SLOT + '<span class="sla-badge sla-{}" data-sla-badge data-due="{}" data-warn="{}" '
    'data-kind="{}" title="{}"><span class="visually-hidden">{} </span>'
    "<span data-sla-text>{}</span></span></span>"
)


def _html(template: str, *args: object) -> SafeString:
    """format_html for plain values (str, int: none safe already), without its per-argument
    lazy-aware escaping: the same text, escaped by html.escape as Django's escape does."""
    return mark_safe(template.format(*(html.escape(str(a)) for a in args)))  # noqa: S308


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
