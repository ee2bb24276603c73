"""The figures' arithmetic: sums of rollup rows and what they give (pure, no queries).

Rules (docs/insights.md, "Counting rules"):
* chat first response within 24 h = requests answered (by anyone, robots included) within 24 h
  / requests counted, where a request still waiting and younger than 24 h is not counted yet;
* average first-response time = the answered requests' mean;
* after-sales share within 24 h = requests a person answered within 24 h / requests counted
  (a request still waiting past 24 h counts as late; one the platform closed without our
  decision is not counted at all); average and p90 over the answered ones;
* dissatisfaction = ratings of 1–3 stars / ratings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from monitoring.models.metrics import HISTOGRAM_BUCKETS, HISTOGRAM_EDGES, empty_histogram


@dataclass
class Sums:
    """Rollup rows of one subject added up; ``pending``: waiting requests younger than 24 h
    among ``requests`` (not counted yet)."""

    requests: int = 0
    answered: int = 0
    within_24h: int = 0
    automated: int = 0
    seconds_sum: int = 0
    seconds_max: int = 0
    histogram: list[int] = field(default_factory=empty_histogram)
    pending: int = 0

    def add(self, row: dict) -> None:
        self.requests += row["requests"]
        self.answered += row["answered"]
        self.within_24h += row["within_24h"]
        self.automated += row["automated"]
        self.seconds_sum += row["seconds_sum"]
        self.seconds_max = max(self.seconds_max, row["seconds_max"])
        hist = row["histogram"] or []
        for i in range(min(len(hist), HISTOGRAM_BUCKETS)):
            self.histogram[i] += int(hist[i])

    def merge(self, other: Sums) -> None:
        """Add another span's sums (its waiting requests too)."""
        self.requests += other.requests
        self.answered += other.answered
        self.within_24h += other.within_24h
        self.automated += other.automated
        self.seconds_sum += other.seconds_sum
        self.seconds_max = max(self.seconds_max, other.seconds_max)
        for i, n in enumerate(other.histogram):
            self.histogram[i] += n
        self.pending += other.pending

    @property
    def counted(self) -> int:
        return max(self.requests - self.pending, 0)

    @property
    def late(self) -> int:
        """Counted requests not answered within 24 h (answered late, or still waiting past it)."""
        return max(self.counted - self.within_24h, 0)

    @property
    def share_within_24h(self) -> float | None:
        return self.within_24h / self.counted if self.counted else None

    @property
    def average_seconds(self) -> float | None:
        return self.seconds_sum / self.answered if self.answered else None

    @property
    def p90_seconds(self) -> int | None:
        return histogram_p90(self.histogram, self.seconds_max)


def histogram_p90(histogram: Sequence[int], seconds_max: int) -> int | None:
    """The p90 answer time as the upper edge of the bucket holding the ceil(0.9·n)-th fastest
    answer, never more than the slowest answer (so "p90 ≤ this"; exact when answers sit at the
    bucket edges). None without answers."""
    n = sum(histogram)
    if n == 0:
        return None
    rank = math.ceil(0.9 * n)
    seen = 0
    for i, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            edge = HISTOGRAM_EDGES[i] if i < len(HISTOGRAM_EDGES) else seconds_max
            return min(edge, seconds_max)
    return seconds_max


@dataclass
class Figures:
    """One shop's (or agent's) figures over a span of days."""

    chat: Sums = field(default_factory=Sums)
    after_sales: Sums = field(default_factory=Sums)
    ratings: int = 0
    ratings_low: int = 0

    def add(self, row: dict) -> None:
        (self.chat if row["subject"] == "chat" else self.after_sales).add(row)
        self.ratings += row["ratings"]
        self.ratings_low += row["ratings_low"]

    def merge(self, other: Figures) -> None:
        self.chat.merge(other.chat)
        self.after_sales.merge(other.after_sales)
        self.ratings += other.ratings
        self.ratings_low += other.ratings_low

    @property
    def dissatisfaction(self) -> float | None:
        return self.ratings_low / self.ratings if self.ratings else None

    def as_dict(self) -> dict:
        """The figures as the API and the CSV give them (shares as fractions 0–1, seconds)."""
        return {
            "first_response": {
                "requests": self.chat.counted,
                "within_24h": self.chat.within_24h,
                "rate_within_24h": _round(self.chat.share_within_24h),
                "answered": self.chat.answered,
                "automated": self.chat.automated,
                "average_seconds": _round(self.chat.average_seconds, 1),
                "waiting_under_24h": self.chat.pending,
            },
            "after_sales": {
                "requests": self.after_sales.counted,
                "answered": self.after_sales.answered,
                "within_24h": self.after_sales.within_24h,
                "share_within_24h": _round(self.after_sales.share_within_24h),
                "average_seconds": _round(self.after_sales.average_seconds, 1),
                "p90_seconds": self.after_sales.p90_seconds,
                "waiting_under_24h": self.after_sales.pending,
            },
            "dissatisfaction": {
                "ratings": self.ratings,
                "low_ratings": self.ratings_low,
                "rate": _round(self.dissatisfaction),
            },
        }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def figures_of(rows: Iterable[dict]) -> Figures:
    figures = Figures()
    for row in rows:
        figures.add(row)
    return figures


def day_span(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included."""
    return [date.fromordinal(d) for d in range(start.toordinal(), end.toordinal() + 1)]
