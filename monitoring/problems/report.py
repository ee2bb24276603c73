"""The weekly problem report of one shop (a selector): issue types by SKU for one shop-local
week (Monday to Sunday, in the shop's time zone, by each record's ``local_date``) with the
counts of the ``EARLIER_WEEKS`` weeks before it, the change against the week before, and up to
``QUOTES_PER_ROW`` of the buyers' words per row, masked (phones and e-mail addresses inside a
quote shown as ``inbox.masking`` shows them).

Supervisors and admins of the shop's organisation read it; for anyone else the shop does not
exist (NotFound). Two queries for the figures (grouped by day) and one for the quotes, which
are decrypted only for the rows shown.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count
from django.utils import timezone

from inbox.masking import mask
from inbox.selectors.accounts import AnyUser, shop_account_list
from inbox.selectors.for_problems import problem_shop_ids
from monitoring.models.problems import IssueType, ProblemRecord
from monitoring.sla.calendar import time_zone_or_utc
from scrm.api import NotFound
from scrm.fields import open_sealed

EARLIER_WEEKS = 4
QUOTES_PER_ROW = 3
QUOTES_READ = 1000  # the newest records of the week whose quotes may be shown


@dataclass(frozen=True)
class ReportRow:
    sku: str
    issue_type: str
    label: str
    count: int
    earlier: tuple[int, ...]  # the earlier weeks' counts, the week before first
    change: int  # against the week before
    trend: str  # "new" | "up" | "down" | "same"
    quotes: tuple[str, ...]


@dataclass(frozen=True)
class TypeTotal:
    issue_type: str
    label: str
    count: int
    earlier: tuple[int, ...]
    share: int  # percent of the week's problems (rounded)
    earlier_share: int  # percent of the week before's


@dataclass(frozen=True)
class WeeklyReport:
    shop_account_id: int
    shop_name: str
    time_zone: str
    week_start: date
    week_end: date
    earlier_weeks: tuple[date, ...]  # their Mondays, the week before first
    total: int
    earlier_totals: tuple[int, ...]
    types: tuple[TypeTotal, ...]
    rows: tuple[ReportRow, ...]
    previous_week: date
    next_week: date | None  # None: this is the shop's current week


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def shop_today(time_zone: str) -> date:
    return timezone.now().astimezone(ZoneInfo(time_zone_or_utc(time_zone))).date()


_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_PHONE = re.compile(r"\+?\(?\d[\d\s\-().]{5,}\d")


def quote_masked(text: str) -> str:
    """A buyer's words with any e-mail address or phone number in them masked."""
    text = _EMAIL.sub(lambda m: mask("email", m.group(0)), text)
    return _PHONE.sub(
        lambda m: mask("phone", m.group(0)) if sum(c.isdigit() for c in m.group(0)) >= 7 else m[0],
        text,
    )


def _shop(user: AnyUser, shop_account_id: int) -> tuple[str, str]:
    if shop_account_id not in problem_shop_ids(user):
        raise NotFound("Shop account not found.")
    name, time_zone = (
        shop_account_list(user).filter(id=shop_account_id).values_list("name", "time_zone").get()
    )
    return str(name), str(time_zone)


def _trend(count: int, before: int) -> str:
    if before == 0:
        return "new" if count else "same"
    return "up" if count > before else "down" if count < before else "same"


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def weekly_report(
    user: AnyUser, *, shop_account_id: int, week: date | None = None, quotes: bool = True
) -> WeeklyReport:
    """One shop's report for the shop-local week holding ``week`` (None: the current week)."""
    name, time_zone = _shop(user, shop_account_id)
    return report_for_shop(
        shop_account_id=shop_account_id,
        shop_name=name,
        time_zone=time_zone,
        week=week,
        quotes=quotes,
    )


def report_for_shop(
    *, shop_account_id: int, shop_name: str, time_zone: str, week: date | None, quotes: bool
) -> WeeklyReport:
    """The report without an acting user (the weekly e-mail's worker; quotes off there)."""
    today = shop_today(time_zone)
    start = week_start_of(week or today)
    weeks = [start - timedelta(weeks=i) for i in range(EARLIER_WEEKS + 1)]
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(weeks))
    rows = (
        ProblemRecord.objects.filter(
            shop_account_id=shop_account_id,
            local_date__gte=weeks[-1],
            local_date__lt=start + timedelta(weeks=1),
        )
        .values_list("sku", "issue_type", "local_date")
        .annotate(n=Count("id"))
        .order_by()
    )
    for sku, issue_type, day, n in rows:
        counts[(sku, issue_type)][(start - week_start_of(day)).days // 7] += n
    shown = _quotes(shop_account_id, start) if quotes else {}
    labels = dict(IssueType.choices)
    report_rows = sorted(
        (
            ReportRow(
                sku=sku,
                issue_type=issue_type,
                label=str(labels.get(issue_type, issue_type)),
                count=c[0],
                earlier=tuple(c[1:]),
                change=c[0] - c[1],
                trend=_trend(c[0], c[1]),
                quotes=tuple(shown.get((sku, issue_type), ())),
            )
            for (sku, issue_type), c in counts.items()
            if c[0]
        ),
        key=lambda r: (-r.count, r.sku, r.issue_type),
    )
    totals = [sum(c[i] for c in counts.values()) for i in range(len(weeks))]
    return WeeklyReport(
        shop_account_id=shop_account_id,
        shop_name=shop_name,
        time_zone=time_zone,
        week_start=start,
        week_end=start + timedelta(days=6),
        earlier_weeks=tuple(weeks[1:]),
        total=totals[0],
        earlier_totals=tuple(totals[1:]),
        types=_types(counts, totals, labels),
        rows=tuple(report_rows),
        previous_week=start - timedelta(weeks=1),
        next_week=None if start >= week_start_of(today) else start + timedelta(weeks=1),
    )


def _types(
    counts: dict[tuple[str, str], list[int]], totals: list[int], labels: dict
) -> tuple[TypeTotal, ...]:
    by_type: dict[str, list[int]] = defaultdict(lambda: [0] * len(totals))
    for (_, issue_type), c in counts.items():
        by_type[issue_type] = [a + b for a, b in zip(by_type[issue_type], c, strict=True)]
    found = [
        TypeTotal(
            issue_type=issue_type,
            label=str(labels.get(issue_type, issue_type)),
            count=c[0],
            earlier=tuple(c[1:]),
            share=_percent(c[0], totals[0]),
            earlier_share=_percent(c[1], totals[1]),
        )
        for issue_type, c in by_type.items()
    ]
    return tuple(sorted(found, key=lambda t: (-t.count, t.issue_type)))


def _quotes(shop_account_id: int, start: date) -> dict[tuple[str, str], list[str]]:
    """Up to ``QUOTES_PER_ROW`` masked quotes per (SKU, issue type), newest first."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    rows = (
        ProblemRecord.objects.filter(
            shop_account_id=shop_account_id,
            local_date__gte=start,
            local_date__lt=start + timedelta(weeks=1),
        )
        .exclude(quote="")
        .order_by("-recorded_at", "-id")
        .values_list("sku", "issue_type", "quote", "row_uid")[:QUOTES_READ]
    )
    for sku, issue_type, sealed, uid in rows:
        kept = found[(sku, issue_type)]
        if len(kept) < QUOTES_PER_ROW:
            text = open_sealed(ProblemRecord, "quote", sealed, uid)
            if isinstance(text, str) and text:
                kept.append(quote_masked(text))
    return found
