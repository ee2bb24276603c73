"""Orders, cancellations and returns: the part of :class:`.core.Simulator` that seeds and moves
after-sales cases as buyers, the platform and its arbitrators would (the seller's side is the
Open API: :mod:`.orders`, :mod:`.returns`).

A mixin split out of ``core.py``; the rules live in :mod:`.orders`, :mod:`.returns` and
:mod:`.disputes`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from inbox.platforms.tiktok_shop.simulator import disputes, media, orders, returns
from inbox.platforms.tiktok_shop.simulator.commerce import Cancellation, Order, ReturnOrder
from inbox.platforms.tiktok_shop.simulator.state import Shop

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.core import Simulator


class CasesMixin:
    """Seeding and moving orders, cancellations and returns (state on the simulator)."""

    lock: threading.Lock
    clock: Callable[[], float]
    shops: dict[str, Shop]
    orders: dict[str, Order]
    returns: dict[str, ReturnOrder]
    cancellations: dict[str, Cancellation]
    # case id (or "*": any case) -> how many decisions the buyer's withdrawal still beats
    withdraw_before_decision_armed: dict[str, int]
    # Where this simulator is reached from outside (what evidence photo URLs start with).
    public_url: str

    def _sim(self) -> Simulator:
        return cast("Simulator", self)

    def order_create(
        self,
        shop_id: str,
        *,
        buyer_user_id: str,
        order_id: str | None = None,
        products: list[tuple[str, str, str]] | None = None,
        status: str = "AWAITING_SHIPMENT",
    ) -> str:
        """A buyer's paid order of ``products`` ((name, SKU name, price), one default line when
        not given); returns its order_id. Get Order Detail gives its buyer's ``user_id``."""
        with self.lock:
            order = orders.order_create_locked(
                self._sim(),
                self.shops[shop_id],
                buyer_user_id=buyer_user_id,
                order_id=order_id,
                products=products,
                status=status,
            )
            return order.order_id

    def cancellation_request(
        self,
        shop_id: str,
        *,
        order_id: str,
        role: str = "BUYER",
        reason_text: str = "I no longer need it.",
    ) -> str:
        """A cancellation of an order (a buyer's waits for the seller); returns the cancel_id
        and queues CANCELLATION_STATUS_CHANGE (11)."""
        return orders.cancellation_request(
            self._sim(), shop_id, order_id=order_id, role=role, reason_text=reason_text
        )

    def cancellation_update(self, cancel_id: str, status: str) -> None:
        """Move a cancellation to ``status``; queues CANCELLATION_STATUS_CHANGE (11)."""
        orders.cancellation_update(self._sim(), cancel_id, status)

    def return_request(
        self,
        shop_id: str,
        *,
        buyer_user_id: str,
        order_id: str,
        reason_text: str = "The item arrived damaged.",
        return_type: str = "REFUND",
        quick_refund: bool = False,
        evidence: list[str] | None = None,
    ) -> str:
        """A buyer asks for a refund, return, replacement or exchange; returns the return_id
        and queues RETURN_STATUS_CHANGE (12). An unknown order is created for that buyer.
        ``evidence``: names of photos the simulator serves (:data:`.media.DRAWINGS`), attached
        to the request's return record."""
        base = self.public_url.rstrip("/")
        return returns.return_request(
            self._sim(),
            shop_id,
            buyer_user_id=buyer_user_id,
            order_id=order_id,
            reason_text=reason_text,
            return_type=return_type,
            quick_refund=quick_refund,
            images=[media.image(base, name) for name in evidence or ()],
        )

    def return_update(self, return_id: str, status: str, *, role: str = "BUYER") -> None:
        """Move a return on as the buyer or platform would (e.g. ``BUYER_SHIPPED_ITEM``)."""
        returns.return_update(self._sim(), return_id, status, role=role)

    def return_decisions(self, return_id: str) -> list[dict[str, Any]]:
        """Approve/reject decisions recorded for a return, oldest first."""
        with self.lock:
            return [dict(d) for d in self.returns[return_id].decisions]

    # --- the buyer and the platform move a case on (see .disputes) ----------------------------
    def buyer_withdraw(self, case_id: str) -> None:
        """The buyer cancels their return or cancellation request (queues its webhook);
        ValueError once it is past withdrawing (decided, shipped back, closed)."""
        with self.lock:
            disputes.withdraw_locked(self._sim(), disputes.find_case_locked(self._sim(), case_id))

    def withdraw_before_decision(self, case_id: str = "*", *, count: int = 1) -> None:
        """Arm the race of a buyer who cancels while the agent decides: the next ``count``
        decisions on ``case_id`` (``"*"``: on any pending case) find the request withdrawn
        just before they arrive (the withdrawal is recorded and notified) and are refused
        with 40010."""
        if count < 0:
            raise ValueError("count must be >= 0")
        with self.lock:
            if case_id != "*":
                disputes.find_case_locked(self._sim(), case_id)
            if count:
                self.withdraw_before_decision_armed[case_id] = count
            else:
                self.withdraw_before_decision_armed.pop(case_id, None)

    def return_escalate(self, return_id: str) -> None:
        """The buyer escalates a rejected return: arbitration IN_PROGRESS (see .disputes)."""
        disputes.escalate(self._sim(), return_id)

    def arbitration_rule(self, return_id: str, ruling: str) -> None:
        """The platform ends an arbitration: SUPPORT_BUYER, SUPPORT_SELLER or CLOSED."""
        disputes.rule(self._sim(), return_id, ruling)

    def expire_deadlines(self, now: float | None = None) -> list[str]:
        """The platform decides for the buyer every case whose seller deadline has passed."""
        return disputes.expire_deadlines(self._sim(), now)
