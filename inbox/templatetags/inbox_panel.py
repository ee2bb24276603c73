"""Filters of the buyer panel's after-sales and orders parts (templates/inbox/_case_card.html,
_panel_orders.html)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from inbox.services.aftersales_options import LABELS

register = template.Library()

REASON_MARK = "_reason_"


@register.filter
def case_status(status: str) -> str:
    """A platform status or action name (``RETURN_OR_REFUND_REQUEST_PENDING``) in words, as
    the platform names it: "Return or refund request pending"."""
    words = str(status or "").replace("_", " ").strip().lower()
    return words[:1].upper() + words[1:]


@register.filter
def case_reason(code: str) -> str:
    """A platform reason code (``ecom_order_delivered_refund_and_return_reason_damaged``) by its
    last part: "Damaged"."""
    code = str(code or "")
    if REASON_MARK in code:
        code = code.rsplit(REASON_MARK, 1)[1]
    return case_status(code)


@register.filter
def decision_label(name: str) -> str:
    return str(LABELS.get(name, case_status(name)))


@register.filter
def decision_state(state: str) -> str:
    """Where a decision's outbox action stands, as agents read it."""
    return {
        "pending": _("Sending to the platform…"),
        "sending": _("Sending to the platform…"),
        "sent": _("Accepted by the platform"),
        "failed": _("Refused by the platform"),
    }.get(str(state or ""), "")


@register.filter
def naive_datetime(value: datetime | None) -> str:
    """A time shown in its own time zone (not converted to the page's)."""
    if value is None:
        return ""
    return date_format(value.replace(tzinfo=None), "SHORT_DATETIME_FORMAT")
