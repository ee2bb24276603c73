"""The daily rollup (``MetricDay``), rebuilt from the facts of the days marked dirty.

A day's rows are rebuilt whole from that day's facts and ratings (at most a few thousand rows
of one shop), never incremented: a fact answered twice, replayed or corrected leaves the same
rows. The marks to rebuild are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and each
(shop, day) with a transaction-level advisory lock, tried and never waited for, so two
rebuilders (the periodic task and a page view) never build one day at the same time; a day
marked again while it was being built stays marked for the next pass (``facts.days_mark`` adds
a new mark beside one a rebuilder holds, and never waits).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction

from monitoring.models.metrics import (
    HISTOGRAM_EDGES,
    ChatRating,
    FactState,
    MetricDay,
    MetricDirtyDay,
    MetricSubject,
    ResponseFact,
    empty_histogram,
)

DAY_SECONDS = 86400
LOW_STARS = 3  # 1–3 stars: a dissatisfied buyer


def bucket_of(seconds: int) -> int:
    """The histogram bucket of an answer time (the last bucket is open-ended)."""
    for i, edge in enumerate(HISTOGRAM_EDGES):
        if seconds <= edge:
            return i
    return len(HISTOGRAM_EDGES)


@dataclass
class _Sums:
    requests: int = 0
    answered: int = 0
    within_24h: int = 0
    automated: int = 0
    seconds_sum: int = 0
    seconds_max: int = 0
    histogram: list[int] = field(default_factory=empty_histogram)
    ratings: int = 0
    ratings_low: int = 0

    def add_fact(self, state: str, seconds: int | None, automated: bool) -> None:
        self.requests += 1
        if state != FactState.ANSWERED or seconds is None:
            return
        self.answered += 1
        self.within_24h += seconds <= DAY_SECONDS
        self.automated += automated
        self.seconds_sum += seconds
        self.seconds_max = max(self.seconds_max, seconds)
        self.histogram[bucket_of(seconds)] += 1


Key = tuple[date, str, int]


def _sums_for(shop_account_id: int, days: list[date]) -> dict[Key, _Sums]:
    sums: dict[Key, _Sums] = defaultdict(_Sums)
    facts = (
        ResponseFact.objects.filter(shop_account_id=shop_account_id, local_date__in=days)
        .exclude(state=FactState.ENDED)
        .values_list("local_date", "subject", "agent_id", "state", "seconds", "automated")
    )
    for day, subject, agent_id, state, seconds, automated in facts.iterator(chunk_size=5000):
        sums[(day, subject, agent_id or 0)].add_fact(state, seconds, automated)
    ratings = ChatRating.objects.filter(
        shop_account_id=shop_account_id, local_date__in=days
    ).values_list("local_date", "agent_id", "stars")
    for day, agent_id, stars in ratings:
        row = sums[(day, MetricSubject.CHAT.value, agent_id or 0)]
        row.ratings += 1
        row.ratings_low += stars <= LOW_STARS
    return sums


def days_rebuild(*, shop_account_id: int, organisation_id: int, days: Iterable[date]) -> int:
    """Rebuild one shop's rollup rows of ``days`` from their facts (the caller holds the days'
    claim). Returns the number of rows written."""
    days = sorted(set(days))
    if not days:
        return 0
    sums = _sums_for(shop_account_id, days)
    MetricDay.objects.filter(shop_account_id=shop_account_id, date__in=days).delete()
    rows = [
        MetricDay(
            organisation_id=organisation_id,
            shop_account_id=shop_account_id,
            date=day,
            subject=subject,
            agent_key=agent_key,
            requests=s.requests,
            answered=s.answered,
            within_24h=s.within_24h,
            automated=s.automated,
            seconds_sum=s.seconds_sum,
            seconds_max=s.seconds_max,
            histogram=s.histogram,
            ratings=s.ratings,
            ratings_low=s.ratings_low,
        )
        for (day, subject, agent_key), s in sums.items()
    ]
    MetricDay.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


@transaction.atomic
def dirty_days_rebuild(*, shop_account_ids: Iterable[int] | None = None, limit: int = 500) -> int:
    """Rebuild the days marked dirty (of these shops, or of all), at most ``limit`` per call;
    returns how many days were rebuilt. Days another rebuilder holds are skipped."""
    from inbox.models import ShopAccount

    claimed = MetricDirtyDay.objects.select_for_update(skip_locked=True).order_by("id")
    if shop_account_ids is not None:
        claimed = claimed.filter(shop_account_id__in=list(shop_account_ids))
    rows = list(claimed.values_list("id", "shop_account_id", "date")[:limit])
    if not rows:
        return 0
    # A day may have two marks (facts.days_mark): one rebuild a day at a time, the day's key
    # taken for this transaction; marks of a day another rebuilder has are left for later.
    held = _days_take({(shop_id, day) for _, shop_id, day in rows})
    rows = [r for r in rows if (r[1], r[2]) in held]
    by_shop: dict[int, list[date]] = defaultdict(list)
    for shop_id, day in sorted(held):
        by_shop[shop_id].append(day)
    organisations = dict(
        ShopAccount.objects.filter(pk__in=list(by_shop)).values_list("id", "organisation_id")
    )
    for shop_id, days in by_shop.items():
        if shop_id in organisations:
            days_rebuild(shop_account_id=shop_id, organisation_id=organisations[shop_id], days=days)
    MetricDirtyDay.objects.filter(pk__in=[r[0] for r in rows]).delete()
    return len(held)


def _days_take(days: set[tuple[int, date]]) -> set[tuple[int, date]]:
    """The (shop, day) keys this transaction now holds alone: PostgreSQL's transaction-level
    advisory locks, tried, never waited for, one 64-bit key a day (shop id x 10^6 + the day's
    ordinal, under 10^6 until the year 2738). SQLite serialises writers: all of them."""
    if connection.vendor != "postgresql" or not days:
        return days
    keyed = {shop * 1_000_000 + day.toordinal(): (shop, day) for shop, day in days}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k FROM unnest(%s::bigint[]) AS k WHERE pg_try_advisory_xact_lock(k)",
            [sorted(keyed)],
        )
        return {keyed[k] for (k,) in cursor.fetchall()}
