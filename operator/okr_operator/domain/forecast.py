"""Forecasts: where a key result lands at its period end if its trend holds.

The method is an ordinary least-squares line through the period's history
points (time in days since the period start, value), extended to the period
end. It needs at least ``MIN_POINTS`` points spanning at least ``MIN_DAYS``
days; with less, two points or a single busy day would make a line that says
nothing, so there is no forecast. The forecast value is then graded like a
measured one: Increase and Decrease by progress from baseline to target,
StayAbove and StayBelow by whether the line still holds the target at the end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta

from okr_operator.domain.model import Basis, CheckIn, Direction, Forecast, Period
from okr_operator.domain.progress import progress

MIN_POINTS = 3
MIN_DAYS = 3.0
_DAY = timedelta(days=1).total_seconds()


@dataclass(frozen=True, slots=True)
class Trend:
    """A fitted line: ``value = intercept + slope * days since the period start``."""

    intercept: float
    slope: float
    basis: Basis

    def at(self, days: float) -> float:
        return self.intercept + self.slope * days


def trend(history: Sequence[CheckIn], period: Period) -> Trend | None:
    """The least-squares line through the in-period points with a value, or None.

    None with fewer than ``MIN_POINTS`` points, or when they span less than
    ``MIN_DAYS`` days.
    """
    start = period.start.astimezone(UTC)
    end = period.end.astimezone(UTC)
    points = [
        ((point.time.astimezone(UTC) - start).total_seconds() / _DAY, point.value)
        for point in history
        if point.value is not None
        and math.isfinite(point.value)
        and start <= point.time.astimezone(UTC) < end
    ]
    if len(points) < MIN_POINTS:
        return None
    xs = [x for x, _ in points]
    span = max(xs) - min(xs)
    if span < MIN_DAYS:
        return None
    n = len(points)
    mean_x = sum(xs) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx  # sxx > 0: the points span at least MIN_DAYS
    intercept = mean_y - slope * mean_x
    if not (math.isfinite(slope) and math.isfinite(intercept)):
        return None
    return Trend(intercept, slope, Basis(points=n, days=round(span, 4)))


def forecast_key_result(
    history: Sequence[CheckIn],
    period: Period,
    *,
    baseline: float | None,
    target: float,
    direction: Direction | None,
    success: float = 1.0,
) -> Forecast | None:
    """The key result's forecast at ``period.end``; None without a trend or a way to grade it."""
    line = trend(history, period)
    if line is None or direction is None:
        return None
    if baseline is None and direction in (Direction.INCREASE, Direction.DECREASE):
        return None
    days = period.duration.total_seconds() / _DAY
    value = line.at(days)
    if not math.isfinite(value):
        return None
    try:
        ratio = progress(value, baseline=baseline, target=target, direction=direction)
    except ValueError:
        return None  # the spec cannot grade values at all; the status says why
    return Forecast(progress=ratio, achieves=ratio >= success, value=value, basis=line.basis)


def forecast_objective(
    members: Sequence[tuple[float, Forecast | None]], *, success: float = 1.0
) -> Forecast | None:
    """The weighted mean of the members' forecast progress (weight, forecast).

    Members without a forecast or with weight 0 are not counted; None when no
    member counts.
    """
    counted = [(weight, f) for weight, f in members if f is not None and weight > 0]
    total = sum(weight for weight, _ in counted)
    if total <= 0:
        return None
    mean = sum(weight * f.progress for weight, f in counted) / total
    mean = min(1.0, max(0.0, mean))
    return Forecast(progress=mean, achieves=mean >= success)
