"""Small display helpers for the inbox templates."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from inbox.payloads import person_name
from scrm import images

register = template.Library()


def short_duration(seconds: float) -> str:
    """12 min, 3 h, 2 d: the waiting time at a glance (the JavaScript mirrors it)."""
    minutes = max(0, int(seconds // 60))
    if minutes < 1:
        return _("now")
    if minutes < 60:
        return _("%(n)s min") % {"n": minutes}
    hours = minutes // 60
    if hours < 48:
        return _("%(n)s h") % {"n": hours}
    return _("%(n)s d") % {"n": hours // 24}


@register.filter
def waited(since: datetime | None) -> str:
    if since is None:
        return ""
    return short_duration((timezone.now() - since).total_seconds())


@register.filter
def seen_ago(when: datetime | None) -> str:
    """The last-seen phrase ("seen 3 h ago"), or "seen just now" under a minute: "now" is no
    duration, so it cannot take "ago" (that read "seen now ago", and 刚刚前在线 in Chinese)."""
    if when is None:
        return ""
    seconds = (timezone.now() - when).total_seconds()
    if seconds < 60:
        return _("seen just now")
    return _("seen %(ago)s ago") % {"ago": short_duration(seconds)}


@register.filter
def is_long_wait(since: datetime | None) -> bool:
    return since is not None and (timezone.now() - since).total_seconds() >= 12 * 3600


@register.filter
def safe_image_url(url: object) -> str | None:
    """The URL when an ``<img>`` may load it (a platform image host), else None: a buyer's
    URL never reaches ``src`` unchecked (scrm/images.py)."""
    return images.safe_image_url(url)


@register.filter
def person(user: object) -> str:
    """A person by the name people see (display name, else login): never their login in one
    place and their name in another."""
    return person_name(user) if user is not None else ""


@register.filter
def initials(name: str) -> str:
    name = (name or "").strip()
    if not name:
        return "?"
    parts = name.split()
    if len(parts) > 1 and parts[0][:1].isascii():
        return (parts[0][:1] + parts[1][:1]).upper()
    return name[:1].upper()


@register.filter
def role_label(role: str) -> str:
    return {
        "BUYER": _("Buyer"),
        "SHOP": _("Shop"),
        "CUSTOMER_SERVICE": _("Agent"),
        "SYSTEM": _("System"),
        "ROBOT": _("Bot"),
    }.get(role, role.title())


@register.filter
def state_label(state: str) -> str:
    return {
        "pending": pgettext("delivery state", "Pending"),
        "sending": _("Sending"),
        "sent": _("Sent"),
        "failed": _("Failed"),
        "received": _("Received"),
    }.get(state, state)


@register.filter
def status_label(status: str) -> str:
    return {
        "open": _("Open"),
        "pending": _("Pending"),
        "snoozed": _("Snoozed"),
        "resolved": _("Resolved"),
    }.get(status, status)


@register.filter
def preview(text: str) -> str:
    """The queue's preview of a card ("[ORDER_CARD]") in words the agent reads."""
    labels = {
        "[ORDER_CARD]": _("Order card"),
        "[PRODUCT_CARD]": _("Product card"),
        "[IMAGE]": _("Image"),
        "[VIDEO]": _("Video"),
        "[EMOTICONS]": _("Sticker"),
    }
    return labels.get((text or "").strip(), text)
