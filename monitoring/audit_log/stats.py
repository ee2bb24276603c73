"""Robust "stands out against the team": the median and the median absolute deviation (MAD).

A mean and standard deviation are pulled by the very outlier they should find (one agent with
ten times the team's violations moves both); the median and MAD are not. A value is flagged
when it lies more than ``THRESHOLD`` scaled MADs from the team's median, in the direction that
matters for the figure, and only among people with enough volume to mean something.

The MAD is scaled by 1.4826 (so it estimates a standard deviation on normal data) and floored
per figure: in a team where almost everyone has the same value (no reveals at all), the MAD is
0 and any difference would be "infinitely" unusual; the floor is the smallest difference worth
a supervisor's look.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import median

THRESHOLD = 3.0
MAD_SCALE = 1.4826
MIN_TEAM = 3  # fewer people with enough volume: nobody is compared


@dataclass(frozen=True)
class Rule:
    """How one figure is compared: which direction is unusual, and the MAD's floor."""

    higher_is_worse: bool | None  # None: unusual both ways
    floor: float


@dataclass(frozen=True)
class Spread:
    median: float
    mad: float  # scaled and floored


def spread(values: Sequence[float], rule: Rule) -> Spread | None:
    """The team's median and scaled, floored MAD; None when too few to compare."""
    if len(values) < MIN_TEAM:
        return None
    centre = median(values)
    mad = median(abs(v - centre) for v in values) * MAD_SCALE
    return Spread(median=centre, mad=max(mad, rule.floor))


def deviation(value: float, team: Spread) -> float:
    """How many (scaled, floored) MADs ``value`` lies from the median, signed."""
    return (value - team.median) / team.mad


def stands_out(value: float | None, team: Spread | None, rule: Rule) -> bool:
    if value is None or team is None:
        return False
    score = deviation(value, team)
    if rule.higher_is_worse is None:
        return abs(score) > THRESHOLD
    return score > THRESHOLD if rule.higher_is_worse else score < -THRESHOLD


def outliers(
    values: Mapping[int, float | None], eligible: set[int], rule: Rule
) -> tuple[Spread | None, set[int]]:
    """The team's spread over the eligible people's values, and who stands out."""
    known = [v for k, v in values.items() if k in eligible and v is not None]
    team = spread(known, rule)
    flagged = {k for k, v in values.items() if k in eligible and stands_out(v, team, rule)}
    return team, flagged
