"""Simulated buyers' after-sales requests, for the demo's traffic (:mod:`.traffic`).

A buyer orders, writes to the shop about a parcel "damaged in transit" or the "wrong size",
and asks for a refund, a return, a replacement (with photos the simulator serves, see
:mod:`.media`) or, before shipping, a cancellation. Later steps move open cases on as buyers
and the platform would: the buyer ships the parcel back, changes their mind, escalates a
rejection; the platform rules on it, or decides at the seller's deadline. One request in five
is withdrawn by the buyer just as the seller's decision arrives (the platform then refuses the
decision). Nothing here logs message text or buyer names.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING

from inbox.platforms.tiktok_shop.simulator import disputes, media

if TYPE_CHECKING:
    from inbox.platforms.tiktok_shop.simulator.core import Simulator

logger = logging.getLogger(__name__)

DAMAGED_EN = [
    "My {item} arrived damaged in transit. The box was crushed, photos attached.",
    "The {item} came broken, the parcel was damaged in transit. I'd like a refund.",
    "Damaged in transit: the {item} is cracked and the box is dented.",
]
DAMAGED_ZH = [
    "{item}运输途中损坏了，箱子都压扁了，已上传照片。",
    "收到的{item}是破的，快递损坏，申请退款。",
]
SIZE_EN = [
    "Wrong size: I ordered a large {item} and got an XS. Photos attached.",
    "The {item} is the wrong size, way too small. Can I send it back?",
    "Size doesn't fit at all, the {item} runs two sizes small.",
]
SIZE_ZH = ["{item}尺码不对，我买的L码，收到的是XS码。", "{item}太小了，尺码不合适，想退换。"]
CANCEL_EN = [
    "I ordered the wrong size, please cancel my order.",
    "Please cancel, I no longer need it.",
]
CANCEL_ZH = ["拍错尺码了，麻烦取消订单。", "不想要了，请帮我取消订单。"]
# What a buyer asks for, and how often (the rest of the time: a cancellation before shipping).
REQUESTS = [("REFUND", 0.35), ("RETURN_AND_REFUND", 0.3), ("REPLACEMENT", 0.15)]
WITHDRAW_RACE_SHARE = 0.2  # withdrawn just as the seller's decision arrives
WITHDRAW_SHARE = 0.15  # of moves on a pending case: the buyer changes their mind
ESCALATE_SHARE = 0.5  # of moves on a rejected case: the buyer asks the platform to step in


class CaseTraffic:
    """After-sales requests and their later moves, drawn from the traffic's random stream."""

    def __init__(self, sim: Simulator, rng: random.Random) -> None:
        self.sim = sim
        self.rng = rng
        self.open: list[str] = []  # return and cancellation ids still moving

    def request(
        self, shop_id: str, user_id: str, nickname: str, lang: str, item: tuple[str, str]
    ) -> None:
        """One buyer's order and after-sales request; ``item`` is (English, Chinese) name."""
        rng, sim = self.rng, self.sim
        name = item[1] if lang == "zh" else item[0]
        roll, kind = rng.random(), "CANCELLATION"
        for return_type, share in REQUESTS:
            if roll < share:
                kind = return_type
                break
            roll -= share
        if kind == "CANCELLATION":
            pool = CANCEL_ZH if lang == "zh" else CANCEL_EN
        elif rng.random() < 0.5:
            pool = DAMAGED_ZH if lang == "zh" else DAMAGED_EN
        else:
            pool = SIZE_ZH if lang == "zh" else SIZE_EN
        text = rng.choice(pool).format(item=name)
        product = (item[0].capitalize(), rng.choice(["S", "M", "L"]), f"{rng.randint(9, 89)}.99")
        status = "AWAITING_SHIPMENT" if kind == "CANCELLATION" else "DELIVERED"
        order_id = sim.order_create(
            shop_id, buyer_user_id=user_id, products=[product], status=status
        )
        sim.buyer_message(shop_id, buyer_user_id=user_id, nickname=nickname, text=text)
        if kind == "CANCELLATION":
            case_id = sim.cancellation_request(shop_id, order_id=order_id, reason_text=text)
        else:
            photos = list(media.evidence_for(text))
            case_id = sim.return_request(
                shop_id,
                buyer_user_id=user_id,
                order_id=order_id,
                reason_text=text,
                return_type=kind,
                evidence=rng.sample(photos, k=rng.randint(1, len(photos))) if photos else [],
            )
        self.open.append(case_id)
        if rng.random() < WITHDRAW_RACE_SHARE:
            sim.withdraw_before_decision(case_id)

    def move(self) -> bool:
        """Move one open case on as its buyer or the platform would; False when none moved.
        Cases waiting for the seller mostly stay as they are (a buyer rarely withdraws)."""
        sim = self.sim
        sim.expire_deadlines()
        for case_id in self.rng.sample(self.open, k=len(self.open)):
            with sim.lock:
                case = disputes.find_case_locked(sim, case_id)
                status = disputes.status_of(case)
                arbitration = getattr(case, "arbitration_status", "")
            try:
                outcome = self._move(case_id, status, arbitration)
            except ValueError:  # e.g. past the buyer's two days to escalate
                outcome = "done"
            if outcome == "done":
                self.open.remove(case_id)
            elif outcome == "moved":
                return True
        return False

    def _move(self, case_id: str, status: str, arbitration: str) -> str:
        """``moved``, ``waiting`` (on the seller) or ``done`` (nothing more will happen)."""
        rng, sim = self.rng, self.sim
        if status == "AWAITING_BUYER_SHIP":
            if rng.random() < WITHDRAW_SHARE:
                sim.buyer_withdraw(case_id)
            else:
                sim.return_update(case_id, "BUYER_SHIPPED_ITEM")
            return "moved"
        if status in disputes.WITHDRAWABLE or status == "CANCELLATION_REQUEST_PENDING":
            if rng.random() < WITHDRAW_SHARE:
                sim.buyer_withdraw(case_id)
                return "moved"
            return "waiting"
        if status in disputes.REJECTED and not arbitration:
            if rng.random() < ESCALATE_SHARE:
                sim.return_escalate(case_id)
                return "moved"
            return "done"  # the buyer accepts the rejection
        if arbitration == "IN_PROGRESS":
            sim.arbitration_rule(case_id, rng.choice(["SUPPORT_BUYER", "SUPPORT_SELLER"]))
            return "moved"
        return "waiting" if status == "BUYER_SHIPPED_ITEM" else "done"
