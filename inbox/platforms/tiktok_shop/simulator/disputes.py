"""What happens to a case besides the seller's decision: the buyer withdraws it (also just
before the seller's decision arrives), the buyer escalates a rejection to arbitration and the
platform rules, the platform decides for the buyer when the seller's deadline passes; and the
errors a decision on a case that moved on gets.

Functions ending in ``_locked`` expect the caller to hold ``Simulator.lock``. Codes, record
events and the webhook on an arbitration change are the simulator's choices (NOT CONFIRMED,
docs/platforms/tiktok-shop.md §6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inbox.platforms.tiktok_shop.simulator import deadlines
from inbox.platforms.tiktok_shop.simulator.commerce import Cancellation, ReturnOrder
from inbox.platforms.tiktok_shop.simulator.state import CODE_CONFLICT, ApiError

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.core import Simulator

# Refusals of a decision on a case that moved on (all HTTP 409; NOT CONFIRMED).
CODE_WITHDRAWN = 40010  # the buyer cancelled the request
CODE_IN_ARBITRATION = 40011  # the platform is arbitrating: the seller cannot decide now

# Return type -> the status of a request the buyer cancelled.
WITHDRAWN = {
    "REFUND": "RETURN_OR_REFUND_REQUEST_CANCEL",
    "RETURN_AND_REFUND": "RETURN_OR_REFUND_REQUEST_CANCEL",
    "REPLACEMENT": "REPLACEMENT_REQUEST_CANCEL",
    "EXCHANGE": "EXCHANGE_REQUEST_CANCEL",
}
WITHDRAWN_STATUSES = frozenset({*WITHDRAWN.values(), "CANCELLATION_REQUEST_CANCEL"})
# A buyer may withdraw until the parcel is on its way back.
WITHDRAWABLE = frozenset(
    {
        "RETURN_OR_REFUND_REQUEST_PENDING",
        "REPLACEMENT_REQUEST_PENDING",
        "EXCHANGE_REQUEST_PENDING",
        "AWAITING_BUYER_SHIP",
        "AWAITING_BUYER_RESPONSE",
    }
)
# The buyer has two days after a rejection to ask the platform to step in (seller guides).
ESCALATION_WINDOW = 2 * deadlines.DAY
# (rejected status, return type or "*") -> the status when the platform supports the buyer.
SUPPORT_BUYER: dict[tuple[str, str], str] = {
    ("REFUND_OR_RETURN_REQUEST_REJECT", "REFUND"): "RETURN_OR_REFUND_REQUEST_SUCCESS",
    ("REFUND_OR_RETURN_REQUEST_REJECT", "RETURN_AND_REFUND"): "AWAITING_BUYER_SHIP",
    ("REJECT_RECEIVE_PACKAGE", "*"): "RETURN_OR_REFUND_REQUEST_SUCCESS",
    ("REPLACEMENT_REQUEST_REJECT", "*"): "REPLACEMENT_REQUEST_COMPLETE",
}
REJECTED = frozenset(status for status, _ in SUPPORT_BUYER)
RULINGS = frozenset({"SUPPORT_BUYER", "SUPPORT_SELLER", "CLOSED"})


# --- moving a case -----------------------------------------------------------------------------
def move_return_locked(
    sim: Simulator, item: ReturnOrder, status: str, *, role: str, event: str, text: str
) -> None:
    """Set a return's status (or only touch it, when ``status`` is its own), record the
    event, queue RETURN_STATUS_CHANGE (``return_role`` BUYER, SELLER or SYSTEM)."""
    now = max(int(sim.clock()), item.update_time)
    item.return_status = status
    item.update_time = now
    item.record(event, role, text, now)
    webhook_role = role if role in ("BUYER", "SELLER") else "SYSTEM"
    sim._queue_event(sim.shops[item.shop_id], "RETURN_STATUS_CHANGE", item.to_webhook(webhook_role))


def move_cancellation_locked(sim: Simulator, cancellation: Cancellation, status: str) -> None:
    from inbox.platforms.tiktok_shop.simulator.orders import _set_status_locked

    _set_status_locked(sim, sim.shops[cancellation.shop_id], cancellation, status)


def withdraw_locked(sim: Simulator, case: ReturnOrder | Cancellation) -> None:
    """The buyer cancels their request (ValueError once it is past withdrawing)."""
    sim.withdraw_before_decision_armed.pop(_case_id(case), None)  # nothing left to race
    if isinstance(case, Cancellation):
        if case.status != "CANCELLATION_REQUEST_PENDING":
            raise ValueError(f"cancellation {case.cancel_id!r} is {case.status}")
        move_cancellation_locked(sim, case, "CANCELLATION_REQUEST_CANCEL")
        return
    if case.return_status not in WITHDRAWABLE:
        raise ValueError(f"return {case.return_id!r} is {case.return_status}")
    move_return_locked(
        sim,
        case,
        WITHDRAWN[case.return_type],
        role="BUYER",
        event="BUYER_CANCEL",
        text="The buyer cancelled the request.",
    )


def find_case_locked(sim: Simulator, case_id: str) -> ReturnOrder | Cancellation:
    case = sim.returns.get(case_id) or sim.cancellations.get(case_id)
    if case is None:
        raise KeyError(f"no return or cancellation {case_id!r}")
    return case


def _case_id(case: ReturnOrder | Cancellation) -> str:
    return case.cancel_id if isinstance(case, Cancellation) else case.return_id


def status_of(case: ReturnOrder | Cancellation) -> str:
    return case.status if isinstance(case, Cancellation) else case.return_status


# --- the buyer who cancels while the seller is deciding ----------------------------------------
def withdraw_if_armed_locked(sim: Simulator, case: ReturnOrder | Cancellation) -> None:
    """Called as a decision arrives: when the switch is armed for this case (or for any case),
    the buyer's withdrawal lands first, so the decision is refused as it would be on the
    platform when our read was stale."""
    armed = sim.withdraw_before_decision_armed
    key = _case_id(case)
    key = key if armed.get(key) else "*" if armed.get("*") else ""
    if not key:
        return
    pending = (
        case.status == "CANCELLATION_REQUEST_PENDING"
        if isinstance(case, Cancellation)
        else case.return_status in WITHDRAWABLE
    )
    if not pending:
        return
    armed[key] -= 1
    if not armed[key]:
        del armed[key]
    withdraw_locked(sim, case)


# --- refusals ----------------------------------------------------------------------------------
def refusal(case: ReturnOrder | Cancellation, verb: str, decision: str = "") -> ApiError:
    """The error for a decision the case's current state does not take: withdrawn by the buyer
    (40010), in arbitration (40011), else decided or moved on (40009); the message names the
    state."""
    kind = "cancellation" if isinstance(case, Cancellation) else "return"
    status = status_of(case)
    if status in WITHDRAWN_STATUSES:
        return ApiError(
            409,
            CODE_WITHDRAWN,
            f"The buyer cancelled this {kind} ({status}); there is nothing to {verb}.",
        )
    if isinstance(case, ReturnOrder) and case.arbitration_status == "IN_PROGRESS":
        return ApiError(
            409,
            CODE_IN_ARBITRATION,
            f"The {kind} is in arbitration (arbitration_status IN_PROGRESS): the platform "
            "decides it now.",
        )
    how = f" with {decision}" if decision else ""
    detail = status if isinstance(case, Cancellation) else f"{case.return_type}, {status}"
    return ApiError(
        409, CODE_CONFLICT, f"The {kind} cannot be {verb}d{how} in its status ({detail})."
    )


# --- arbitration -------------------------------------------------------------------------------
def escalate(sim: Simulator, return_id: str) -> None:
    """The buyer asks the platform to review the seller's rejection: ``arbitration_status``
    becomes IN_PROGRESS and the case leaves the seller's hands (no next action; decisions get
    40011). Only a rejected return, within two days of the rejection."""
    with sim.lock:
        item = sim.returns[return_id]
        if item.return_status not in REJECTED:
            raise ValueError(
                f"only a rejected return is escalated; this one is {item.return_status}"
            )
        if item.arbitration_status:
            raise ValueError(f"return {return_id!r} was already arbitrated")
        if sim.clock() > item.update_time + ESCALATION_WINDOW:
            raise ValueError("the buyer's two days to escalate have passed")
        item.arbitration_status = "IN_PROGRESS"
        move_return_locked(
            sim,
            item,
            item.return_status,
            role="BUYER",
            event="BUYER_APPEAL",
            text="The buyer asked TikTok Shop to review the seller's rejection.",
        )


def rule(sim: Simulator, return_id: str, ruling: str) -> None:
    """The platform's operator ends an arbitration: SUPPORT_BUYER (the buyer gets what they
    asked for: a refund, or the return goes ahead), SUPPORT_SELLER (the rejection stands) or
    CLOSED (the buyer dropped it)."""
    if ruling not in RULINGS:
        raise ValueError(f"ruling must be one of {sorted(RULINGS)}")
    with sim.lock:
        item = sim.returns[return_id]
        if item.arbitration_status != "IN_PROGRESS":
            raise ValueError(f"return {return_id!r} is not in arbitration")
        status = item.return_status
        if ruling == "SUPPORT_BUYER":
            status = SUPPORT_BUYER.get((status, item.return_type)) or SUPPORT_BUYER[(status, "*")]
        item.arbitration_status = ruling
        move_return_locked(
            sim,
            item,
            status,
            role="OPERATOR",
            event="PLATFORM_ARBITRATION",
            text=f"TikTok Shop closed the arbitration: {ruling}.",
        )


# --- deadlines ---------------------------------------------------------------------------------
def expire_deadlines(sim: Simulator, now: float | None = None) -> list[str]:
    """Every case whose seller deadline has passed (at ``now``, default the simulator's clock)
    is decided by the platform for the buyer, as TikTok's guides say it is; returns their ids."""
    done = []
    with sim.lock:
        at = sim.clock() if now is None else now
        for item in list(sim.returns.values()):
            action = deadlines.return_action(
                item.return_type, item.return_status, item.arbitration_status
            )
            if action and deadlines.deadline(action, item.update_time) <= at:
                move_return_locked(
                    sim,
                    item,
                    deadlines.ON_DEADLINE[action],
                    role="SYSTEM",
                    event="SYSTEM_AUTO_APPROVE",
                    text="The seller did not answer in time; TikTok Shop approved the request.",
                )
                done.append(item.return_id)
        for cancellation in list(sim.cancellations.values()):
            action = deadlines.cancellation_action(cancellation.cancel_type, cancellation.status)
            if action and deadlines.deadline(action, cancellation.update_time) <= at:
                move_cancellation_locked(sim, cancellation, deadlines.ON_DEADLINE[action])
                done.append(cancellation.cancel_id)
    return done
