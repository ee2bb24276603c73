"""The 60-day figures, read for the acting user (docs/insights.md).

Every selector here takes the acting user and answers only for the shops that user works on
(``shop_account_ids_for``: an agent their member shops, supervisors and admins their
organisation's); another shop is a ``NotFound``. Reads come from the daily rollup: at most one
row per (day, subject, answerer) of the window, plus the shop's waiting requests by the
partial index. Days marked dirty are rebuilt first (derived rows, idempotent), so a page never
shows figures older than the facts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count
from django.utils import timezone

from inbox.models import ShopAccount
from inbox.selectors.accounts import AnyUser, shop_account_list
from inbox.selectors.for_apps import acting_member, member_names
from monitoring.metrics.figures import Figures, day_span
from monitoring.metrics.rollup import DAY_SECONDS, dirty_days_rebuild
from monitoring.models.metrics import FactState, MetricDay, ResponseFact
from scrm.api import NotFound

WINDOW_DAYS = 60
ROW_FIELDS = (
    "date",
    "subject",
    "agent_key",
    "requests",
    "answered",
    "within_24h",
    "automated",
    "seconds_sum",
    "seconds_max",
    "histogram",
    "ratings",
    "ratings_low",
)


@dataclass(frozen=True)
class Window:
    """The days a figure covers, in the shop's time zone: ``days`` days ending yesterday."""

    start: date
    end: date
    time_zone: str
    now: datetime

    @property
    def days(self) -> list[date]:
        return day_span(self.start, self.end)

    @property
    def today(self) -> date:
        return self.end + timedelta(days=1)


def metric_window(
    time_zone: str, *, now: datetime | None = None, days: int = WINDOW_DAYS
) -> Window:
    """The ``days``-day window ending yesterday, shop-local."""
    now = now or timezone.now()
    today = now.astimezone(_zone(time_zone)).date()
    return Window(
        start=today - timedelta(days=days),
        end=today - timedelta(days=1),
        time_zone=time_zone,
        now=now,
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class ShopRow:
    id: int
    name: str
    time_zone: str
    organisation_id: int


@dataclass
class ShopMetrics:
    """One shop's window: the shop's figures, each answerer's, and the daily series."""

    shop: ShopRow
    window: Window
    figures: Figures
    agents: list[tuple[int, str, Figures]] = field(default_factory=list)
    series: list[tuple[date, Figures]] = field(default_factory=list)


def metrics_shop_get(user: AnyUser, shop_account_id: int) -> ShopRow:
    """A shop the user works on (NotFound otherwise: another shop's agent, another
    organisation, a deactivated account)."""
    row = (
        shop_account_list(user)
        .filter(pk=shop_account_id)
        .values_list("id", "name", "time_zone", "organisation_id")
        .first()
    )
    if row is None:
        raise NotFound("No such shop account.")
    return ShopRow(*row)


def metrics_shops(user: AnyUser) -> list[ShopRow]:
    """The shops the user works on, by name."""
    rows = shop_account_list(user).values_list("id", "name", "time_zone", "organisation_id")
    return [ShopRow(*row) for row in rows]


def _pending(shop_id: int, window: Window) -> dict[str, int]:
    """Waiting requests younger than 24 h received inside the window, per subject."""
    rows = (
        ResponseFact.objects.filter(
            shop_account_id=shop_id,
            state=FactState.OPEN,
            received_at__gt=window.now - timedelta(seconds=DAY_SECONDS),
            local_date__gte=window.start,
            local_date__lte=window.end,
        )
        .values("subject")
        .annotate(n=Count("id"))
    )
    return {row["subject"]: row["n"] for row in rows}


def _rows(shop_id: int, window: Window) -> list[dict]:
    return list(
        MetricDay.objects.filter(
            shop_account_id=shop_id, date__gte=window.start, date__lte=window.end
        ).values(*ROW_FIELDS)
    )


def shop_metrics(
    user: AnyUser, shop_account_id: int, *, now: datetime | None = None, days: int = WINDOW_DAYS
) -> ShopMetrics:
    """One shop's figures over the window ending yesterday (shop-local): the shop's, each
    answerer's (agent 0: nobody, i.e. robots, Seller Center or unanswered), and per day."""
    shop = metrics_shop_get(user, shop_account_id)
    dirty_days_rebuild(shop_account_ids=[shop.id])
    window = metric_window(shop.time_zone, now=now, days=days)
    rows = _rows(shop.id, window)
    pending = _pending(shop.id, window)
    total = Figures()
    by_agent: dict[int, Figures] = defaultdict(Figures)
    by_day: dict[date, Figures] = defaultdict(Figures)
    for row in rows:
        total.add(row)
        by_agent[row["agent_key"]].add(row)
        by_day[row["date"]].add(row)
    total.chat.pending = pending.get("chat", 0)
    total.after_sales.pending = pending.get("after_sales", 0)
    # A young waiting request is received yesterday at the latest (the window ends there).
    last = by_day.get(window.end)
    if last is not None:
        last.chat.pending = total.chat.pending
        last.after_sales.pending = total.after_sales.pending
    names = member_names(acting_member(user), {k for k in by_agent if k})
    agents = [
        (key, names.get(key, ""), figures)
        for key, figures in sorted(by_agent.items(), key=lambda kv: names.get(kv[0], ""))
        if key
    ]
    series = [(day, by_day.get(day) or Figures()) for day in window.days]
    return ShopMetrics(shop=shop, window=window, figures=total, agents=agents, series=series)


def shops_overview(user: AnyUser, *, now: datetime | None = None) -> list[ShopMetrics]:
    """Every shop the user works on with its 60-day figures (no per-agent or daily detail)."""
    shops = metrics_shops(user)
    if shops:
        dirty_days_rebuild(shop_account_ids=[s.id for s in shops])
    result = []
    for shop in shops:
        window = metric_window(shop.time_zone, now=now)
        total = Figures()
        for row in _rows(shop.id, window):
            total.add(row)
        pending = _pending(shop.id, window)
        total.chat.pending = pending.get("chat", 0)
        total.after_sales.pending = pending.get("after_sales", 0)
        result.append(ShopMetrics(shop=shop, window=window, figures=total))
    return result


def shop_time_zone(shop_account_id: int) -> str:
    found = ShopAccount.objects.filter(pk=shop_account_id).values_list("time_zone", flat=True)
    return found.first() or "UTC"
