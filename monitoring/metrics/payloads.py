"""The readiness panel as the API gives it (plain JSON: ids, dates, counts, seconds, shares as
fractions 0–1; never a buyer or a message)."""

from __future__ import annotations

from typing import Any

from monitoring.metrics.readiness import Readiness, overview_gauges
from monitoring.metrics.selectors import ShopMetrics


def _shop(metrics: ShopMetrics) -> dict[str, Any]:
    return {
        "id": metrics.shop.id,
        "name": metrics.shop.name,
        "time_zone": metrics.shop.time_zone,
        "window": {
            "start": metrics.window.start.isoformat(),
            "end": metrics.window.end.isoformat(),
        },
    }


def overview_payload(metrics: ShopMetrics) -> dict[str, Any]:
    return {
        **_shop(metrics),
        "figures": metrics.figures.as_dict(),
        "status": {g.threshold.key: g.status for g in overview_gauges(metrics.figures)},
        "negative_review_rate": None,
    }


def readiness_payload(panel: Readiness) -> dict[str, Any]:
    metrics = panel.metrics
    platform = panel.platform
    return {
        **_shop(metrics),
        "figures": metrics.figures.as_dict(),
        "negative_review_rate": None,
        "readiness": [
            {
                "figure": line.threshold.key,
                "value": line.value,
                "unit": line.threshold.unit,
                "better": line.threshold.better,
                "promotion_level": line.threshold.promotion,
                "campaign_level": line.threshold.campaign,
                "status": line.status,
                "last_30_days": line.recent,
                "previous_30_days": line.earlier,
                "trend": line.trend or None,
                "days_at_risk": [d.isoformat() for d in line.days_at_risk],
            }
            for line in panel.lines
        ],
        "advice": {
            "after_sales_late_this_month": panel.advice.late_this_month,
            "chats_late_this_month": panel.advice.late_chats_this_month,
            "after_sales_due_within_4h": panel.advice.due_soon,
            "chats_due_within_4h": panel.advice.chats_due_soon,
            "after_sales_waiting_over_24h": panel.advice.waiting_late,
        },
        "platform": None
        if platform is None
        else {
            "start": platform.start.isoformat(),
            "end": platform.end.isoformat(),
            "sessions": platform.sessions,
            "response_percentage": platform.response_percentage,
            "response_minutes": platform.response_minutes,
            "dissatisfaction_percentage": platform.dissatisfaction_percentage,
            "fetched_at": platform.fetched_at.isoformat(),
        },
        "agents": [
            {"user_id": agent_id, "name": name, "figures": figures.as_dict()}
            for agent_id, name, figures in metrics.agents
        ],
        "series": [
            {"date": day.isoformat(), "figures": figures.as_dict()}
            for day, figures in metrics.series
        ],
    }
