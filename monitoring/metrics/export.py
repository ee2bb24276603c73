"""The daily series as CSV (one row per shop-local day of the window): the export is an audit
event first, then the file. Figures only (counts, seconds, shares): no buyer, no message."""

from __future__ import annotations

import csv
import io

from django.db import transaction

from inbox.selectors.accounts import AnyUser
from monitoring.audit_log.address import request_address
from monitoring.metrics.figures import Figures
from monitoring.metrics.selectors import ShopMetrics, metrics_shop_get
from monitoring.models import AuditEvent
from monitoring.services.audit import audit_record
from scrm.csvcells import escape_cell

COLUMNS = [
    "date",
    "chat_requests",
    "chat_within_24h",
    "chat_rate_within_24h",
    "chat_answered",
    "chat_automated",
    "chat_average_seconds",
    "after_sales_requests",
    "after_sales_within_24h",
    "after_sales_share_within_24h",
    "after_sales_answered",
    "after_sales_average_seconds",
    "after_sales_p90_seconds",
    "ratings",
    "low_ratings",
]


@transaction.atomic
def insights_export_record(*, actor: AnyUser, shop_account_id: int, via: str) -> AuditEvent:
    """Record that ``actor`` exported a shop's daily series (``insights.exported``), before the
    file is made. Keeps: a shop outside the actor's reach is NotFound, and nothing recorded."""
    shop = metrics_shop_get(actor, shop_account_id)
    return audit_record(
        organisation_id=shop.organisation_id,
        actor=actor,
        action="insights.exported",
        data={"format": "csv", "via": via, "days": "daily_series"},
        shop_account_id=shop.id,
        ip=request_address(),
    )


def _cell(value: float | None, digits: int = 4) -> str:
    return "" if value is None else str(round(value, digits))


def _row(day: str, f: Figures) -> list[object]:
    chat, sales = f.chat, f.after_sales
    return [
        day,
        chat.counted,
        chat.within_24h,
        _cell(chat.share_within_24h),
        chat.answered,
        chat.automated,
        _cell(chat.average_seconds, 1),
        sales.counted,
        sales.within_24h,
        _cell(sales.share_within_24h),
        sales.answered,
        _cell(sales.average_seconds, 1),
        "" if sales.p90_seconds is None else sales.p90_seconds,
        f.ratings,
        f.ratings_low,
    ]


def daily_series_csv(metrics: ShopMetrics) -> str:
    """The window's days, oldest first, header first (with a BOM: Excel reads UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for day, figures in metrics.series:
        writer.writerow([escape_cell(c) for c in _row(day.isoformat(), figures)])
    return "\ufeff" + out.getvalue()
