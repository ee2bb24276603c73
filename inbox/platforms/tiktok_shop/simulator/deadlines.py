"""The seller's next action on a case and its deadline (``seller_next_action_response``).

TikTok's models name the actions (returns: ``SELLER_RESPOND_REFUND``, ``_RETURN``,
``_RECEIVE_PACKAGE``, ``_REPLACEMENT``; cancellations: ``SELLER_RESPOND_BUYER_CANCEL``) and say
only that ``deadline`` is a Unix time. How long the seller has comes from TikTok's seller
guides (docs/platforms/tiktok-shop.md §4, "Seller deadlines"): two calendar days to answer a
refund or return request, then the platform approves it; eight days to judge a returned
package, then it is confirmed for the seller; 48 hours to answer a buyer's cancellation. The
replacement deadline and the API's counting from the moment the case entered its status are
NOT CONFIRMED (the simulator's choices). Regions differ (Thailand's guide says one working day;
its cancellations 24 hours): the simulator uses the two-day figures everywhere.
"""

from __future__ import annotations

from typing import Any

DAY = 86400

# action -> seconds the seller has, from the time the case entered its current status.
DEADLINES: dict[str, int] = {
    "SELLER_RESPOND_REFUND": 2 * DAY,
    "SELLER_RESPOND_RETURN": 2 * DAY,
    "SELLER_RESPOND_REPLACEMENT": 2 * DAY,  # NOT CONFIRMED: as a return request
    "SELLER_RESPOND_RECEIVE_PACKAGE": 8 * DAY,
    "SELLER_RESPOND_BUYER_CANCEL": 2 * DAY,
}

# What the platform does for the buyer when the seller lets the deadline pass.
ON_DEADLINE: dict[str, str] = {
    "SELLER_RESPOND_REFUND": "RETURN_OR_REFUND_REQUEST_SUCCESS",
    "SELLER_RESPOND_RETURN": "AWAITING_BUYER_SHIP",
    "SELLER_RESPOND_REPLACEMENT": "REPLACEMENT_REQUEST_COMPLETE",
    "SELLER_RESPOND_RECEIVE_PACKAGE": "RETURN_OR_REFUND_REQUEST_SUCCESS",
    "SELLER_RESPOND_BUYER_CANCEL": "CANCELLATION_REQUEST_SUCCESS",
}


def return_action(return_type: str, return_status: str, arbitration_status: str) -> str:
    """The seller's next action on a return, ``""`` when none is theirs to take (decided,
    waiting on the buyer, withdrawn, in arbitration; an exchange: the enumeration names no
    action for one)."""
    if arbitration_status == "IN_PROGRESS":
        return ""  # the platform decides now
    if return_status == "RETURN_OR_REFUND_REQUEST_PENDING":
        return "SELLER_RESPOND_REFUND" if return_type == "REFUND" else "SELLER_RESPOND_RETURN"
    if return_status == "BUYER_SHIPPED_ITEM":
        return "SELLER_RESPOND_RECEIVE_PACKAGE"
    if return_status == "REPLACEMENT_REQUEST_PENDING":
        return "SELLER_RESPOND_REPLACEMENT"
    return ""


def cancellation_action(cancel_type: str, status: str) -> str:
    """Only a buyer's pending cancellation request waits for the seller."""
    if cancel_type == "BUYER_CANCEL" and status == "CANCELLATION_REQUEST_PENDING":
        return "SELLER_RESPOND_BUYER_CANCEL"
    return ""


def deadline(action: str, since: int) -> int:
    return since + DEADLINES[action]


def next_action_response(action: str, since: int) -> list[dict[str, Any]]:
    """``seller_next_action_response``: one entry, or an empty list when nothing is due."""
    return [{"action": action, "deadline": deadline(action, since)}] if action else []
