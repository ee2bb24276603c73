"""Trend alert rules evaluated (a periodic task): each active rule over each shop it covers,
on complete shop-local days and weeks. A trend found is a ``TrendFinding`` (unique per rule,
shop, subject and first day) and one ``SlaAlert`` of kind ``trend``, told as every SLA alert
is (``alerts.alerts_tell``: the supervisors' bells, a live ``sla.alert``, the organisation's
channels that take trends). Only the evaluation that inserted the finding tells anyone, so a
trend is alerted once however often the task runs. Ids, SKUs, issue types and counts only.

- ``sku_rising``: an SKU's problems per day rose ``days`` days in a row up to yesterday (each
  day more than the one before), yesterday's count at least ``min_count``. The trend's first
  day is the first day of the whole rise, so a rise that goes on is the same trend; one longer
  than the look-back (whose first day the evaluation no longer sees) is recognised by its
  finding reaching the day before the rise now found begins: the finding is extended, nobody
  told again.
- ``share_growth``: an issue type's share of the shop's problems in the last full week is at
  least ``factor`` times its share the week before (or it had none then), with at least
  ``min_count`` problems of it; the trend's first day is that week's Monday.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from monitoring.models.problems import ProblemRecord, TrendFinding, TrendKind, TrendRule
from monitoring.models.sla import AlertKind, SlaAlert
from monitoring.problems.report import week_start_of
from monitoring.sla.alerts import People, Telling, alerts_tell

LOOK_BACK_DAYS = 15  # the longest rise a rule may ask for, and one day before it


@dataclass(frozen=True)
class Found:
    subject: str
    started_on: date
    ended_on: date
    figures: dict[str, Any]


def sku_rises(
    daily: dict[date, int], *, yesterday: date, days: int, min_count: int
) -> Found | None:
    """Whether one SKU's daily counts rose ``days`` days in a row up to ``yesterday``."""
    if daily.get(yesterday, 0) < min_count:
        return None
    run = 0
    day = yesterday
    while daily.get(day, 0) > daily.get(day - timedelta(days=1), 0):
        run += 1
        day -= timedelta(days=1)
        if run > LOOK_BACK_DAYS:
            break
    if run < days:
        return None
    first = yesterday - timedelta(days=run - 1)
    series = [daily.get(first - timedelta(days=1) + timedelta(days=i), 0) for i in range(run + 1)]
    return Found("", first, yesterday, {"daily": series, "days": run})


def share_grows(
    this_week: dict[str, int], week_before: dict[str, int], *, factor: Decimal, min_count: int
) -> list[tuple[str, dict[str, Any]]]:
    """The issue types whose share grew ``factor`` times (subject, figures)."""
    total, total_before = sum(this_week.values()), sum(week_before.values())
    grown = []
    for issue_type, count in sorted(this_week.items()):
        if count < min_count:
            continue
        share = Decimal(count) / total
        before = Decimal(week_before.get(issue_type, 0)) / total_before if total_before else None
        if before is None or before == 0 or share >= factor * before:
            figures = {
                "count": count,
                "total": total,
                "count_before": week_before.get(issue_type, 0),
                "total_before": total_before,
                "share_percent": round(float(share) * 100),
                "share_before_percent": round(float(before) * 100) if before else 0,
            }
            grown.append((issue_type, figures))
    return grown


def _daily_by_sku(shop_id: int, since: date, until: date) -> dict[str, dict[date, int]]:
    rows = (
        ProblemRecord.objects.filter(
            shop_account_id=shop_id, local_date__gte=since, local_date__lte=until
        )
        .exclude(sku="")
        .values_list("sku", "local_date")
        .annotate(n=Count("id"))
        .order_by()
    )
    found: dict[str, dict[date, int]] = defaultdict(dict)
    for sku, day, n in rows:
        found[sku][day] = n
    return found


def _by_type(shop_id: int, start: date) -> dict[str, int]:
    rows = (
        ProblemRecord.objects.filter(
            shop_account_id=shop_id,
            local_date__gte=start,
            local_date__lt=start + timedelta(weeks=1),
        )
        .values_list("issue_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {str(issue_type): int(n) for issue_type, n in rows}


def rule_findings(rule: TrendRule, shop_id: int, today: date) -> list[Found]:
    """What one rule finds in one shop on its local ``today`` (complete days and weeks)."""
    yesterday = today - timedelta(days=1)
    if rule.kind == TrendKind.SKU_RISING:
        daily = _daily_by_sku(shop_id, yesterday - timedelta(days=LOOK_BACK_DAYS), yesterday)
        found = []
        for sku, counts in sorted(daily.items()):
            rise = sku_rises(counts, yesterday=yesterday, days=rule.days, min_count=rule.min_count)
            if rise is not None:
                found.append(Found(sku, rise.started_on, rise.ended_on, rise.figures))
        return found
    start = week_start_of(today) - timedelta(weeks=1)  # the last full week
    grown = share_grows(
        _by_type(shop_id, start),
        _by_type(shop_id, start - timedelta(weeks=1)),
        factor=rule.factor,
        min_count=rule.min_count,
    )
    return [Found(t, start, start + timedelta(days=6), f) for t, f in grown]


def _shops(rule: TrendRule) -> list[tuple[int, str]]:
    from inbox.models import ShopAccount

    shops = ShopAccount.objects.filter(organisation_id=rule.organisation_id, is_active=True)
    if rule.shop_account_id is not None:
        shops = shops.filter(id=rule.shop_account_id)
    return list(shops.values_list("id", "time_zone"))


def trends_evaluate(*, now: datetime | None = None) -> int:
    """Evaluate every active rule over its shops; returns how many trends were alerted."""
    now = now or timezone.now()
    alerted = 0
    for rule in TrendRule.objects.filter(is_active=True).order_by("id"):
        for shop_id, time_zone in _shops(rule):
            for found in rule_findings(rule, shop_id, _local(now, time_zone)):
                alerted += trend_alert(rule=rule, shop_id=shop_id, found=found, now=now)
    return alerted


def _local(now: datetime, time_zone: str) -> date:
    from zoneinfo import ZoneInfo

    from monitoring.sla.calendar import time_zone_or_utc

    return now.astimezone(ZoneInfo(time_zone_or_utc(time_zone))).date()


def _rise_goes_on(rule: TrendRule, shop_id: int, found: Found) -> bool:
    """Whether ``found`` continues a rise already recorded (its finding ends on or after the
    day before ``found`` begins): the finding then reaches ``found``'s last day."""
    earlier = (
        TrendFinding.objects.select_for_update()
        .filter(
            rule=rule,
            shop_account_id=shop_id,
            subject=found.subject[:128],
            started_on__lte=found.ended_on,
            ended_on__gte=found.started_on - timedelta(days=1),
        )
        .order_by("-ended_on", "-id")
        .first()
    )
    if earlier is None:
        return False
    if found.ended_on > earlier.ended_on:
        earlier.ended_on = found.ended_on
        earlier.figures = {**found.figures, "days": (found.ended_on - earlier.started_on).days + 1}
        earlier.save(update_fields=["ended_on", "figures"])
    return True


@transaction.atomic
def trend_alert(*, rule: TrendRule, shop_id: int, found: Found, now: datetime) -> int:
    """Record one trend and tell the supervisors; 0 when it was recorded before (a rise that
    goes on extends its finding)."""
    if rule.kind == TrendKind.SKU_RISING and _rise_goes_on(rule, shop_id, found):
        return 0
    try:
        with transaction.atomic():
            finding = TrendFinding.objects.create(
                rule=rule,
                shop_account_id=shop_id,
                subject=found.subject[:128],
                started_on=found.started_on,
                ended_on=found.ended_on,
                figures=found.figures,
                created_at=now,
            )
    except IntegrityError:
        return 0  # this trend was alerted already
    data = {
        "rule_id": rule.id,
        "trend_kind": rule.kind,
        "subject": finding.subject,
        "started_on": found.started_on.isoformat(),
        "ended_on": found.ended_on.isoformat(),
        **found.figures,
    }
    alert = SlaAlert.objects.create(
        organisation_id=rule.organisation_id,
        shop_account_id=shop_id,
        trend=finding,
        kind=AlertKind.TREND.value,
        escalated=True,
        data=data,
        created_at=now,
    )
    people = People()
    alerts_tell(
        [Telling(alert, people.supervisors(rule.organisation_id), None)], now=now, people=people
    )
    return 1
