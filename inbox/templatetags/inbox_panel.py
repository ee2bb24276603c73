"""Filters of the buyer panel's after-sales and orders parts (templates/inbox/_case_card.html,
_panel_orders.html)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from inbox.services.aftersales_options import LABELS

register = template.Library()

REASON_MARK = "_reason_"


# The platform's names agents meet on a case card or an order, in their language. A name not
# listed is shown in words as the platform spells it ("SOME_NEW_STATUS" -> "Some new status").
STATUS_LABELS = {
    # returns and cancellations (services/aftersales.py STAGES)
    "RETURN_OR_REFUND_REQUEST_PENDING": _l("Return or refund requested"),
    "REPLACEMENT_REQUEST_PENDING": _l("Replacement requested"),
    "EXCHANGE_REQUEST_PENDING": _l("Exchange requested"),
    "BUYER_SHIPPED_ITEM": _l("Buyer shipped the item back"),
    "AWAITING_BUYER_SHIP": _l("Waiting for the buyer to ship"),
    "AWAITING_BUYER_RESPONSE": _l("Waiting for the buyer's answer"),
    "REFUND_OR_RETURN_REQUEST_REJECT": _l("Request rejected"),
    "REJECT_RECEIVE_PACKAGE": _l("Returned package rejected"),
    "REPLACEMENT_REQUEST_REJECT": _l("Replacement rejected"),
    "RETURN_OR_REFUND_REQUEST_SUCCESS": _l("Refund approved"),
    "REPLACEMENT_REQUEST_REFUND_SUCCESS": _l("Refunded instead of replaced"),
    "EXCHANGE_REQUEST_REFUND_SUCCESS": _l("Refunded instead of exchanged"),
    "RETURN_OR_REFUND_REQUEST_CANCEL": _l("Cancelled by the buyer"),
    "RETURN_OR_REFUND_REQUEST_COMPLETE": _l("Completed"),
    "REPLACEMENT_REQUEST_CANCEL": _l("Cancelled by the buyer"),
    "REPLACEMENT_REQUEST_COMPLETE": _l("Completed"),
    "EXCHANGE_REQUEST_CANCEL": _l("Cancelled by the buyer"),
    "EXCHANGE_REQUEST_COMPLETE": _l("Completed"),
    "CANCELLATION_REQUEST_PENDING": _l("Cancellation requested"),
    "CANCELLATION_REQUEST_SUCCESS": _l("Cancellation approved"),
    "CANCELLATION_REQUEST_CANCEL": _l("Cancellation withdrawn or refused"),
    "CANCELLATION_REQUEST_CANCELLED": _l("Cancellation withdrawn or refused"),
    "CANCELLATION_REQUEST_COMPLETE": _l("Cancelled"),
    # the seller's next action
    "SELLER_RESPOND_REFUND": _l("Answer the refund request"),
    "SELLER_RESPOND_RETURN": _l("Answer the return request"),
    "SELLER_RESPOND_REPLACEMENT": _l("Answer the replacement request"),
    "SELLER_RESPOND_RECEIVE_PACKAGE": _l("Check the returned package"),
    "SELLER_RESPOND_BUYER_CANCEL": _l("Answer the cancellation request"),
    # orders (Get Order Detail 202507)
    "UNPAID": _l("Unpaid"),
    "ON_HOLD": _l("On hold"),
    "AWAITING_SHIPMENT": _l("Awaiting shipment"),
    "PARTIALLY_SHIPPING": _l("Partially shipped"),
    "AWAITING_COLLECTION": _l("Awaiting collection"),
    "IN_TRANSIT": _l("In transit"),
    "DELIVERED": _l("Delivered"),
    "COMPLETED": _l("Completed"),
    "CANCELLED": _l("Cancelled"),
}
# The last part of the platform's reason codes (``..._reason_damaged``).
REASON_LABELS = {
    "damaged": _l("Damaged"),
    "wrong_item": _l("Wrong item"),
    "size_not_fit": _l("Size does not fit"),
    "not_received": _l("Not received"),
    "not_as_described": _l("Not as described"),
    "no_longer_needed": _l("No longer needed"),
    "better_price": _l("Found a better price"),
    "change_address": _l("Wants to change the address"),
    "shipping_too_long": _l("Shipping takes too long"),
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
