"""TikTok Shop's Get Customer Service Performance (202407): the platform's own figures for a
shop's chats over a period (docs/platforms/tiktok-shop.md; docs/insights.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from inbox.platforms.base_performance import ServicePerformance
from inbox.platforms.tiktok_shop.client import TikTokShopClient

PERFORMANCE_PATH = "/customer_service/202407/performance"


class PerformanceCalls:
    """The performance half of ``base.ShopApi``."""

    client: TikTokShopClient

    def service_performance(self, start: date, end: date) -> ServicePerformance:
        data = self.client.call(
            "GET",
            PERFORMANCE_PATH,
            params={"support_date_ge": start.isoformat(), "support_date_lt": end.isoformat()},
        )
        raw = data.get("performance")
        return performance_from(raw if isinstance(raw, Mapping) else {}, start=start, end=end)


def _decimal(raw: Mapping[str, Any], name: str) -> Decimal | None:
    value = raw.get(name)
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def performance_from(raw: Mapping[str, Any], *, start: date, end: date) -> ServicePerformance:
    sessions = raw.get("support_session_count")
    currency = raw.get("currency")
    return ServicePerformance(
        start=start,
        end=end,
        sessions=sessions if isinstance(sessions, int) and not isinstance(sessions, bool) else None,
        response_percentage=_decimal(raw, "response_percentage"),
        response_minutes=_decimal(raw, "response_time_mins"),
        satisfaction_percentage=_decimal(raw, "satisfaction_percentage"),
        currency=currency if isinstance(currency, str) else "",
    )
