"""The readiness panel: each figure against the levels that keep a shop in promotions and
campaigns, its trend, the days at risk and what would move the score most (docs/insights.md,
"Thresholds").

The platform gates on the overall shop score (≥ 3.5 with ≥ 30 orders in 90 days for Smart
Promotion; around 4.5 for many campaigns: /work/shared/DESIGN.md's table) and does not publish a
cut-off per customer-service figure; the levels below are the ones this product holds each
figure to, the stricter for campaigns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from django.db.models import Count
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from monitoring.metrics.figures import Figures
from monitoring.metrics.selectors import ShopMetrics
from monitoring.models.metrics import FactState, PlatformPerformance, ResponseFact
from monitoring.models.sla import Deadline, DeadlineState

Direction = Literal["higher", "lower"]
Status = Literal["ready", "promotion", "at_risk", "no_data", "not_available"]
SOON_HOURS = 4


@dataclass(frozen=True)
class Threshold:
    key: str
    label: str | Promise
    better: Direction
    promotion: float  # the level for Smart Promotion (score ≥ 3.5)
    campaign: float  # the level for campaigns (score ≈ 4.5)
    unit: Literal["share", "seconds"]


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(
        "first_response_rate",
        _("First response within 24 h"),
        "higher",
        0.90,
        0.95,
        "share",
    ),
    Threshold(
        "first_response_average",
        _("Average first response time"),
        "lower",
        12 * 3600,
        4 * 3600,
        "seconds",
    ),
    Threshold(
        "after_sales_within_24h",
        _("After-sales answered within 24 h"),
        "higher",
        0.90,
        0.95,
        "share",
    ),
    Threshold(
        "after_sales_average",
        _("After-sales average response time"),
        "lower",
        24 * 3600,
        12 * 3600,
        "seconds",
    ),
    Threshold("dissatisfaction", _("Inquiry dissatisfaction"), "lower", 0.10, 0.05, "share"),
)


def figure_value(figures: Figures, key: str) -> float | None:
    return {
        "first_response_rate": figures.chat.share_within_24h,
        "first_response_average": figures.chat.average_seconds,
        "after_sales_within_24h": figures.after_sales.share_within_24h,
        "after_sales_average": figures.after_sales.average_seconds,
        "dissatisfaction": figures.dissatisfaction,
    }[key]


def meets(threshold: Threshold, value: float, level: float) -> bool:
    return value >= level if threshold.better == "higher" else value <= level


def status_of(threshold: Threshold, value: float | None) -> Status:
    if value is None:
        return "no_data"
    if meets(threshold, value, threshold.campaign):
        return "ready"
    if meets(threshold, value, threshold.promotion):
        return "promotion"
    return "at_risk"


@dataclass(frozen=True)
class Line:
    """One figure of the panel."""

    threshold: Threshold
    value: float | None
    status: Status
    recent: float | None  # the last 30 days
    earlier: float | None  # the 30 days before
    trend: Literal["better", "worse", "flat", ""]
    days_at_risk: tuple[date, ...]  # days whose own figure missed the promotion level


@dataclass(frozen=True)
class Advice:
    """What would move the score most, with its figures (no personal data)."""

    late_this_month: int  # requests answered after 24 h (or still waiting past it), this month
    late_chats_this_month: int
    due_soon: int  # after-sales decisions due within SOON_HOURS (not yet overdue)
    chats_due_soon: int
    waiting_late: int  # after-sales requests waiting past 24 h now


@dataclass(frozen=True)
class PlatformFigures:
    """The platform's own figures for the shop, as last read (``PlatformPerformance``)."""

    start: date
    end: date  # exclusive
    sessions: int | None
    response_percentage: float | None
    response_minutes: float | None
    dissatisfaction_percentage: float | None  # 100 − the platform's satisfaction
    fetched_at: datetime


@dataclass(frozen=True)
class Readiness:
    metrics: ShopMetrics
    lines: tuple[Line, ...]
    advice: Advice
    platform: PlatformFigures | None
    negative_review_rate: None = None  # the platform gives no product-review data here


def _trend(threshold: Threshold, recent: float | None, earlier: float | None) -> str:
    if recent is None or earlier is None:
        return ""
    if abs(recent - earlier) < (0.005 if threshold.unit == "share" else 60):
        return "flat"
    better = recent > earlier if threshold.better == "higher" else recent < earlier
    return "better" if better else "worse"


def _halves(metrics: ShopMetrics) -> tuple[Figures, Figures]:
    """The window's later half (the last 30 days of 60) and its earlier half."""
    series = metrics.series
    middle = len(series) // 2
    recent, earlier = Figures(), Figures()
    for _day, figures in series[middle:]:
        recent.merge(figures)
    for _day, figures in series[:middle]:
        earlier.merge(figures)
    return recent, earlier


def _line(metrics: ShopMetrics, threshold: Threshold, halves: tuple[Figures, Figures]) -> Line:
    value = figure_value(metrics.figures, threshold.key)
    recent = figure_value(halves[0], threshold.key)
    earlier = figure_value(halves[1], threshold.key)
    risky = []
    for day, figures in metrics.series:
        daily = figure_value(figures, threshold.key)
        if daily is not None and not meets(threshold, daily, threshold.promotion):
            risky.append(day)
    return Line(
        threshold=threshold,
        value=value,
        status=status_of(threshold, value),
        recent=recent,
        earlier=earlier,
        trend=_trend(threshold, recent, earlier),  # type: ignore[arg-type]
        days_at_risk=tuple(risky),
    )


def _advice(metrics: ShopMetrics, now: datetime) -> Advice:
    today = metrics.window.today
    month = [f for d, f in metrics.series if (d.year, d.month) == (today.year, today.month)]
    soon = now + timedelta(hours=SOON_HOURS)
    due = (
        Deadline.objects.filter(
            shop_account_id=metrics.shop.id,
            state=DeadlineState.OPEN,
            due_at__gt=now,
            due_at__lte=soon,
        )
        .values("kind")
        .annotate(n=Count("id"))
    )
    by_kind = {row["kind"]: row["n"] for row in due}
    waiting_late = ResponseFact.objects.filter(
        shop_account_id=metrics.shop.id,
        state=FactState.OPEN,
        subject="after_sales",
        received_at__lte=now - timedelta(days=1),
    ).count()
    return Advice(
        late_this_month=sum(f.after_sales.late for f in month),
        late_chats_this_month=sum(f.chat.late for f in month),
        due_soon=by_kind.get("after_sales", 0),
        chats_due_soon=by_kind.get("first_reply", 0) + by_kind.get("next_reply", 0),
        waiting_late=waiting_late,
    )


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def platform_figures(shop_account_id: int) -> PlatformFigures | None:
    row = PlatformPerformance.objects.filter(shop_account_id=shop_account_id).first()
    if row is None:
        return None
    satisfaction = row.satisfaction_percentage
    return PlatformFigures(
        start=row.start,
        end=row.end,
        sessions=row.sessions,
        response_percentage=_float(row.response_percentage),
        response_minutes=_float(row.response_minutes),
        dissatisfaction_percentage=None if satisfaction is None else float(100 - satisfaction),
        fetched_at=row.fetched_at,
    )


def readiness(metrics: ShopMetrics) -> Readiness:
    """The panel for one shop's window (``shop_metrics``' answer, already scoped)."""
    halves = _halves(metrics)
    lines = tuple(_line(metrics, t, halves) for t in THRESHOLDS)
    return Readiness(
        metrics=metrics,
        lines=lines,
        advice=_advice(metrics, metrics.window.now),
        platform=platform_figures(metrics.shop.id),
    )


@dataclass(frozen=True)
class Gauge:
    """One figure of a shop in the overview: its value and status against its levels."""

    threshold: Threshold
    value: float | None
    status: Status


def overview_gauges(figures: Figures) -> tuple[Gauge, ...]:
    """A shop's figures against the levels, without trend or days (the overview's row)."""
    gauges = []
    for threshold in THRESHOLDS:
        value = figure_value(figures, threshold.key)
        gauges.append(Gauge(threshold, value, status_of(threshold, value)))
    return tuple(gauges)
