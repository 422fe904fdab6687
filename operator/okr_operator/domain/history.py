"""The bounded check-in history: one point a UTC day, the newest 120 days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date

from okr_operator.domain.model import CheckIn

MAX_POINTS = 120


def _day(point: CheckIn) -> date:
    return point.time.astimezone(UTC).date()


def record(history: Sequence[CheckIn], point: CheckIn) -> tuple[CheckIn, ...]:
    """Add a point, replacing the one of the same UTC day; keep the newest ``MAX_POINTS``."""
    # Replace by day, not just "the last point", so the one-a-day rule holds even
    # for a point older than the newest (an evaluation at a past period end).
    day = _day(point)
    kept = [existing for existing in history if _day(existing) != day]
    points = sorted([*kept, point], key=lambda existing: existing.time.astimezone(UTC))
    return tuple(points[-MAX_POINTS:])
