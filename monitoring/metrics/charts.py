"""Geometry of the readiness panel's inline SVG charts (drawn by the template; no library, no
script): one line per daily figure over the window, the level it is held to as a dashed line,
and a gap where a day has nothing to count (never a made-up zero)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 600, 120
PAD = 6


@dataclass(frozen=True)
class LineChart:
    key: str
    segments: tuple[str, ...]  # polyline points, one string per run of days with a figure
    dots: tuple[tuple[float, float], ...]  # lone days (a run of one)
    level_y: float | None
    top_label: str
    width: int = WIDTH
    height: int = HEIGHT


def _y(value: float, top: float) -> float:
    share = min(max(value / top, 0.0), 1.0) if top > 0 else 0.0
    return round(HEIGHT - PAD - share * (HEIGHT - 2 * PAD), 1)


def line_chart(
    key: str, values: Sequence[float | None], *, top: float, level: float | None, top_label: str
) -> LineChart:
    """A chart of ``values`` (one per day, None for a day without a figure) on 0..``top``."""
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    runs: list[list[tuple[float, float]]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((round(PAD + i * step, 1), _y(value, top)))
    segments = tuple(" ".join(f"{x},{y}" for x, y in run) for run in runs if len(run) > 1)
    dots = tuple(run[0] for run in runs if len(run) == 1)
    return LineChart(
        key=key,
        segments=segments,
        dots=dots,
        level_y=_y(level, top) if level is not None else None,
        top_label=top_label,
    )
