"""Geometry for the behaviour page's inline SVG charts (drawn by the template, no library):
one bar chart per figure (a bar per person, the team's median as a line, the unusual in red)
and a sparkline of each person's replies per day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitoring.audit_log.behaviour import AgentFigures
from monitoring.audit_log.stats import Spread

BAR_HEIGHT = 18
SPARK_WIDTH, SPARK_HEIGHT = 120, 24


@dataclass(frozen=True)
class Bar:
    name: str
    value: float | None
    width: float  # percent of the chart's width
    y: int
    flagged: bool
    comparable: bool


@dataclass(frozen=True)
class BarChart:
    figure: str
    bars: list[Bar]
    median_x: float | None  # percent
    height: int


def bar_chart(figure: str, agents: list[AgentFigures], team: Spread | None) -> BarChart:
    values = [a.figure(figure) for a in agents]
    top = max([v for v in values if v is not None] + [team.median if team else 0.0, 0.0])
    scale = 100.0 / top if top > 0 else 0.0
    bars = [
        Bar(
            name=a.name,
            value=v,
            width=round((v or 0.0) * scale, 2),
            y=i * (BAR_HEIGHT + 4),
            flagged=figure in a.flags,
            comparable=a.eligible(figure),
        )
        for i, (a, v) in enumerate(zip(agents, values, strict=True))
    ]
    median_x = round(team.median * scale, 2) if team is not None and scale else None
    return BarChart(figure, bars, median_x, max(len(bars), 1) * (BAR_HEIGHT + 4))


def sparkline(series: list[int]) -> dict[str, Any]:
    """The polyline's points for a series of counts (scaled to the sparkline's box)."""
    if not series:
        return {"points": "", "peak": 0}
    peak = max(series) or 1
    step = SPARK_WIDTH / max(len(series) - 1, 1)
    points = " ".join(
        f"{round(i * step, 1)},{round(SPARK_HEIGHT - 2 - (n / peak) * (SPARK_HEIGHT - 4), 1)}"
        for i, n in enumerate(series)
    )
    return {"points": points, "peak": max(series)}
