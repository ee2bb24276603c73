"""What a seller may decide on an after-sales case, by its kind and the platform's status, and
when our stored state already shows the case moved on.

One table (``OPTIONS``) says which of the platform's decisions each status allows; the
simulator follows the same rules (docs/platforms/tiktok-shop.md §4–5). ``RESULTS`` says which
statuses each decision leads to: the outbox's ``find`` adopts a decision the platform shows
taken (a worker killed between the platform's answer and our commit).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from inbox.models import AfterSalesCase, CaseStage
from inbox.platforms.tiktok_shop.adapter_aftersales import (
    APPROVE_CANCELLATION,
    PARTIAL_REFUND_FIELDS,
    REJECT_CANCELLATION,
)

PENDING = "RETURN_OR_REFUND_REQUEST_PENDING"
SHIPPED = "BUYER_SHIPPED_ITEM"
REPLACEMENT = "REPLACEMENT_REQUEST_PENDING"
EXCHANGE = "EXCHANGE_REQUEST_PENDING"
CANCEL_PENDING = "CANCELLATION_REQUEST_PENDING"
SUCCESS = "RETURN_OR_REFUND_REQUEST_SUCCESS"
COMPLETE = "RETURN_OR_REFUND_REQUEST_COMPLETE"

# The platform's decision names with what agents read.
LABELS = {
    "APPROVE_REFUND": _("Approve the refund"),
    "APPROVE_RETURN": _("Approve the return"),
    "DIRECT_REFUND": _("Refund without a return"),
    "APPROVE_RECEIVED_PACKAGE": _("Accept the returned package"),
    "APPROVE_REPLACEMENT": _("Approve the replacement"),
    "ISSUE_REPLACEMENT_REFUND": _("Refund instead of replacing"),
    "OFFER_PARTIAL_REFUND": _("Offer a partial refund"),
    "REJECT_REFUND": _("Reject the refund"),
    "REJECT_RETURN": _("Reject the return"),
    "REJECT_RECEIVED_PACKAGE": _("Reject the returned package"),
    "REJECT_REPLACEMENT": _("Reject the replacement"),
    "OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG": _("Partial refund after inspecting the package"),
    APPROVE_CANCELLATION: _("Approve the cancellation"),
    REJECT_CANCELLATION: _("Reject the cancellation"),
}

# (family, platform status, platform type or "*") -> decisions, approve first.
OPTIONS: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("return", PENDING, "REFUND"): ("APPROVE_REFUND", "OFFER_PARTIAL_REFUND", "REJECT_REFUND"),
    ("return", PENDING, "RETURN_AND_REFUND"): (
        "APPROVE_RETURN",
        "DIRECT_REFUND",
        "OFFER_PARTIAL_REFUND",
        "REJECT_RETURN",
    ),
    ("return", SHIPPED, "*"): (
        "APPROVE_RECEIVED_PACKAGE",
        "REJECT_RECEIVED_PACKAGE",
        "OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG",
    ),
    ("return", REPLACEMENT, "*"): (
        "APPROVE_REPLACEMENT",
        "ISSUE_REPLACEMENT_REFUND",
        "REJECT_REPLACEMENT",
    ),
    # An exchange has no reject (the platform's statuses name none).
    ("return", EXCHANGE, "*"): ("APPROVE_REPLACEMENT", "ISSUE_REPLACEMENT_REFUND"),
    # Only a buyer's request waits for the seller; the seller's own or the system's is done.
    ("cancellation", CANCEL_PENDING, "BUYER_CANCEL"): (APPROVE_CANCELLATION, REJECT_CANCELLATION),
}
# Decisions sent through the reject call (the rest through approve).
REJECT_CALL = frozenset(
    {
        "REJECT_REFUND",
        "REJECT_RETURN",
        "REJECT_RECEIVED_PACKAGE",
        "REJECT_REPLACEMENT",
        "OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG",
        REJECT_CANCELLATION,
    }
)
# A quick refund's received package cannot be rejected (Search Returns' ``is_quick_refund``).
NOT_ON_QUICK_REFUND = frozenset(
    {"REJECT_RECEIVED_PACKAGE", "OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG"}
)

# decision -> the statuses the platform shows once it took (or later ones on the same path).
RESULTS: dict[str, frozenset[str]] = {
    "APPROVE_REFUND": frozenset({SUCCESS, COMPLETE}),
    "APPROVE_RETURN": frozenset({"AWAITING_BUYER_SHIP", SHIPPED, SUCCESS, COMPLETE}),
    "DIRECT_REFUND": frozenset({SUCCESS, COMPLETE}),
    "APPROVE_RECEIVED_PACKAGE": frozenset({SUCCESS, COMPLETE}),
    "APPROVE_REPLACEMENT": frozenset({"REPLACEMENT_REQUEST_COMPLETE", "EXCHANGE_REQUEST_COMPLETE"}),
    "ISSUE_REPLACEMENT_REFUND": frozenset(
        {"REPLACEMENT_REQUEST_REFUND_SUCCESS", "EXCHANGE_REQUEST_REFUND_SUCCESS"}
    ),
    "OFFER_PARTIAL_REFUND": frozenset({"AWAITING_BUYER_RESPONSE"}),
    "REJECT_REFUND": frozenset({"REFUND_OR_RETURN_REQUEST_REJECT"}),
    "REJECT_RETURN": frozenset({"REFUND_OR_RETURN_REQUEST_REJECT"}),
    "REJECT_RECEIVED_PACKAGE": frozenset({"REJECT_RECEIVE_PACKAGE"}),
    "REJECT_REPLACEMENT": frozenset({"REPLACEMENT_REQUEST_REJECT"}),
    "OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG": frozenset({"AWAITING_BUYER_RESPONSE"}),
    APPROVE_CANCELLATION: frozenset(
        {"CANCELLATION_REQUEST_SUCCESS", "CANCELLATION_REQUEST_COMPLETE"}
    ),
    REJECT_CANCELLATION: frozenset({"CANCELLATION_REQUEST_CANCEL"}),
}
# Results the case also reaches without us: Search Cancellations shows a buyer's withdrawn
# cancellation as a seller's reject ends (CANCELLATION_REQUEST_CANCEL). ``find`` does not adopt
# these; the retry sends the decision again with its idempotency key, which the platform
# answers with success only if it took the decision (else it refuses, visibly).
NOT_OURS_ALONE = frozenset({"CANCELLATION_REQUEST_CANCEL"})

# Statuses meaning the buyer (or the platform on their behalf) withdrew the request.
BUYER_CANCELLED = frozenset(
    {
        "RETURN_OR_REFUND_REQUEST_CANCEL",
        "REPLACEMENT_REQUEST_CANCEL",
        "EXCHANGE_REQUEST_CANCEL",
        "CANCELLATION_REQUEST_CANCELLED",
    }
)
# Arbitration states in which the platform, not the seller, decides.
ARBITRATION_OPEN = frozenset({"IN_PROGRESS", "PENDING", "ARBITRATION_IN_PROGRESS"})


@dataclass(frozen=True)
class DecisionOption:
    """One decision the case allows now: the platform's ``name``, a translated ``label``, the
    REST ``verb`` it is posted with, and whether it takes an amount or a reject reason."""

    name: str
    label: str
    verb: str  # approve | reject
    takes_amount: bool
    takes_reason: bool


def _allowed(case: AfterSalesCase) -> tuple[str, ...]:
    family, status = case.family, case.platform_status
    names = OPTIONS.get((family, status, case.platform_type)) or OPTIONS.get(
        (family, status, "*"), ()
    )
    if (case.amounts or {}).get("is_quick_refund") is True:
        names = tuple(n for n in names if n not in NOT_ON_QUICK_REFUND)
    return names


def case_decision_options(case: AfterSalesCase) -> list[DecisionOption]:
    """The decisions the case's kind and platform status allow (none once it moved on)."""
    if moved_on_state(case):
        return []
    return [
        DecisionOption(
            name=name,
            label=str(LABELS.get(name, name)),
            verb="reject" if name in REJECT_CALL else "approve",
            takes_amount=name in PARTIAL_REFUND_FIELDS,
            takes_reason=name in REJECT_CALL,
        )
        for name in _allowed(case)
    ]


def decision_allowed(case: AfterSalesCase, *, verb: str, decision: str) -> bool:
    return decision in _allowed(case) and (decision in REJECT_CALL) == (verb == "reject")


def moved_on_state(case: AfterSalesCase) -> str:
    """Why our stored state shows the case no longer waits for the seller ("" while it does):
    ``cancelled_by_buyer``, ``in_arbitration``, ``decided``, ``closed`` or ``waiting``. A
    decision in flight is the decisions service's to tell (it needs the outbox)."""
    if case.platform_status in BUYER_CANCELLED:
        return "cancelled_by_buyer"
    if case.arbitration_status in ARBITRATION_OPEN:
        return "in_arbitration"
    if case.stage != CaseStage.NEEDS_DECISION:
        return str(case.stage)
    return ""


MOVED_ON_MESSAGES = {
    "cancelled_by_buyer": _("The buyer cancelled this request."),
    "in_arbitration": _("The platform is arbitrating this case."),
    "decided": _("This case was already decided."),
    "closed": _("This case is closed."),
    "waiting": _("This case is waiting on the buyer or the parcel."),
    "decision_in_flight": _("A decision on this case is being sent to the platform."),
}
