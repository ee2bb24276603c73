"""Filters of the buyer panel's after-sales and orders parts (templates/inbox/_case_card.html,
_panel_orders.html)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from inbox.services.aftersales_options import LABELS

register = template.Library()

REASON_MARK = "_reason_"


# The platform's names agents meet on a case card or an order, in their language. A name not
# listed is shown in words as the platform spells it ("SOME_NEW_STATUS" -> "Some new status").
STATUS_LABELS = {
    # returns and cancellations (services/aftersales.py STAGES)
    "RETURN_OR_REFUND_REQUEST_PENDING": _("Return or refund requested"),
    "REPLACEMENT_REQUEST_PENDING": _("Replacement requested"),
    "EXCHANGE_REQUEST_PENDING": _("Exchange requested"),
    "BUYER_SHIPPED_ITEM": _("Buyer shipped the item back"),
    "AWAITING_BUYER_SHIP": _("Waiting for the buyer to ship"),
    "AWAITING_BUYER_RESPONSE": _("Waiting for the buyer's answer"),
    "REFUND_OR_RETURN_REQUEST_REJECT": _("Request rejected"),
    "REJECT_RECEIVE_PACKAGE": _("Returned package rejected"),
    "REPLACEMENT_REQUEST_REJECT": _("Replacement rejected"),
    "RETURN_OR_REFUND_REQUEST_SUCCESS": _("Refund approved"),
    "REPLACEMENT_REQUEST_REFUND_SUCCESS": _("Refunded instead of replaced"),
    "EXCHANGE_REQUEST_REFUND_SUCCESS": _("Refunded instead of exchanged"),
    "RETURN_OR_REFUND_REQUEST_CANCEL": _("Cancelled by the buyer"),
    "RETURN_OR_REFUND_REQUEST_COMPLETE": _("Completed"),
    "REPLACEMENT_REQUEST_CANCEL": _("Cancelled by the buyer"),
    "REPLACEMENT_REQUEST_COMPLETE": _("Completed"),
    "EXCHANGE_REQUEST_CANCEL": _("Cancelled by the buyer"),
    "EXCHANGE_REQUEST_COMPLETE": _("Completed"),
    "CANCELLATION_REQUEST_PENDING": _("Cancellation requested"),
    "CANCELLATION_REQUEST_SUCCESS": _("Cancellation approved"),
    "CANCELLATION_REQUEST_CANCEL": _("Cancellation withdrawn or refused"),
    "CANCELLATION_REQUEST_CANCELLED": _("Cancellation withdrawn or refused"),
    "CANCELLATION_REQUEST_COMPLETE": _("Cancelled"),
    # the seller's next action
    "SELLER_RESPOND_REFUND": _("Answer the refund request"),
    "SELLER_RESPOND_RETURN": _("Answer the return request"),
    "SELLER_RESPOND_REPLACEMENT": _("Answer the replacement request"),
    "SELLER_RESPOND_RECEIVE_PACKAGE": _("Check the returned package"),
    "SELLER_RESPOND_BUYER_CANCEL": _("Answer the cancellation request"),
    # orders (Get Order Detail 202507)
    "UNPAID": _("Unpaid"),
    "ON_HOLD": _("On hold"),
    "AWAITING_SHIPMENT": _("Awaiting shipment"),
    "PARTIALLY_SHIPPING": _("Partially shipped"),
    "AWAITING_COLLECTION": _("Awaiting collection"),
    "IN_TRANSIT": _("In transit"),
    "DELIVERED": _("Delivered"),
    "COMPLETED": _("Completed"),
    "CANCELLED": _("Cancelled"),
}
# The last part of the platform's reason codes (``..._reason_damaged``).
REASON_LABELS = {
    "damaged": _("Damaged"),
    "wrong_item": _("Wrong item"),
    "size_not_fit": _("Size does not fit"),
    "not_received": _("Not received"),
    "not_as_described": _("Not as described"),
    "no_longer_needed": _("No longer needed"),
    "better_price": _("Found a better price"),
    "change_address": _("Wants to change the address"),
    "shipping_too_long": _("Shipping takes too long"),
}


def _words(name: str) -> str:
    words = str(name or "").replace("_", " ").strip().lower()
    return words[:1].upper() + words[1:]


@register.filter
def case_status(status: str) -> str:
    """A platform status or action name in the agent's language (``STATUS_LABELS``), else in
    words as the platform spells it."""
    label = STATUS_LABELS.get(str(status or ""))
    return str(label) if label is not None else _words(status)


@register.filter
def case_reason(code: str) -> str:
    """A platform reason code (``ecom_order_delivered_refund_and_return_reason_damaged``) by its
    last part, in the agent's language where known: "Damaged"."""
    code = str(code or "")
    if REASON_MARK in code:
        code = code.rsplit(REASON_MARK, 1)[1]
    label = REASON_LABELS.get(code)
    return str(label) if label is not None else _words(code)


@register.filter
def decision_label(name: str) -> str:
    return str(LABELS.get(name, _words(name)))


@register.filter
def decision_state(state: str) -> str:
    """Where a decision's outbox action stands, as agents read it."""
    label = {
        "pending": _("Sending to the platform…"),
        "sending": _("Sending to the platform…"),
        "sent": _("Accepted by the platform"),
        "failed": _("Refused by the platform"),
    }.get(str(state or ""))
    return str(label) if label is not None else ""


@register.filter
def naive_datetime(value: datetime | None) -> str:
    """A time shown in its own time zone (not converted to the page's)."""
    if value is None:
        return ""
    return date_format(value.replace(tzinfo=None), "SHORT_DATETIME_FORMAT")
