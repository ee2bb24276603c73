"""The figures' arithmetic without a database: the p90 read from the fixed histogram, and the
charts' gaps for days with nothing to count."""

from __future__ import annotations

from monitoring.metrics.charts import line_chart
from monitoring.metrics.figures import histogram_p90
from monitoring.metrics.rollup import bucket_of


def hist(*seconds: int) -> list[int]:
    counts = [0] * 15
    for s in seconds:
        counts[bucket_of(s)] += 1
    return counts


def test_p90_is_the_bucket_edge_of_the_ninth_tenth_never_above_the_slowest():
    assert histogram_p90(hist(), 0) is None
    # ten answers, nine within 15 min and one after 80 h: the 9th is within 15 min
    assert histogram_p90(hist(*[60] * 9, 288000), 288000) == 900
    # all under 10 min, the slowest 600 s: never more than it
    assert histogram_p90(hist(60, 120, 600), 600) == 600
    # eleven answers: the 10th (ceil 9.9) is in the 4-6 h bucket
    assert histogram_p90(hist(*[60] * 9, 5 * 3600, 30 * 3600), 30 * 3600) == 6 * 3600
    # exactly 24 h sits in the 24 h bucket (within)
    assert bucket_of(86400) == bucket_of(86399) != bucket_of(86401)


def test_a_day_without_a_figure_is_a_gap_not_a_zero():
    chart = line_chart(
        "x", [1.0, 0.5, None, 0.8, None, None, 1.0, 1.0], top=1.0, level=0.9, top_label="100%"
    )
    assert len(chart.segments) == 2  # days 0-1 and 6-7
    assert len(chart.dots) == 1  # day 3 alone
    assert chart.level_y is not None and 0 < chart.level_y < chart.height
