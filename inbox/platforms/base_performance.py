"""The platform's own customer-service figures for a shop (``ShopApi.service_performance``):
what it counts over a period of days, as it reports it. Decimal percentages, None where the
platform gave nothing readable (never a made-up zero)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class ServicePerformance:
    """Customer-service performance over ``[start, end)`` (the platform's days)."""

    start: date
    end: date
    sessions: int | None  # chats with a buyer message in the period
    response_percentage: Decimal | None  # of them answered within 24 h (automated answers too)
    response_minutes: Decimal | None  # the answered ones' average wait
    satisfaction_percentage: Decimal | None  # 4–5 star ratings among the chats' ratings
    currency: str = ""

    @property
    def dissatisfaction_percentage(self) -> Decimal | None:
        """1–3 star ratings among the ratings (100 − satisfaction)."""
        if self.satisfaction_percentage is None:
            return None
        return Decimal(100) - self.satisfaction_percentage
