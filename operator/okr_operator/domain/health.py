"""Health: classifying progress against the clock, and combining healths."""

from __future__ import annotations

from collections.abc import Iterable

from okr_operator.domain.model import Direction, Health, Lags

# Worst first: the Weakest rollup picks the lowest rank.
_RANK = {
    Health.MISSED: 0,
    Health.OFF_TRACK: 1,
    Health.AT_RISK: 2,
    Health.ON_TRACK: 3,
    Health.ACHIEVED: 4,
}
_NO_OPINION = frozenset({Health.UNKNOWN, Health.PENDING})


def classify(
    *, progress: float, expected: float, direction: Direction, lags: Lags, success: float = 1.0
) -> Health:
    """Health of a usable progress while the period is running.

    ``success`` is the progress that counts as success (0.7 for an aspirational
    key result): progress is compared with ``success`` times the expected share.
    """
    if direction in (Direction.STAY_ABOVE, Direction.STAY_BELOW):
        # A threshold is held or not; "achieved" only makes sense at the end.
        return Health.ON_TRACK if progress >= 1.0 else Health.OFF_TRACK
    if progress >= 1.0:
        return Health.ACHIEVED
    expected *= success
    if progress >= expected - lags.at_risk:
        return Health.ON_TRACK
    if progress >= expected - lags.off_track:
        return Health.AT_RISK
    return Health.OFF_TRACK


def final_health(progress: float | None, success: float = 1.0) -> Health:
    """Health once the period has ended: Achieved (a grade of ``success`` or more), Missed,
    or Unknown without a value."""
    if progress is None:
        return Health.UNKNOWN
    return Health.ACHIEVED if progress >= success else Health.MISSED


def worst(healths: Iterable[Health]) -> Health:
    """The weakest member health; Unknown and Pending only when nothing else is known."""
    members = list(healths)
    known = [health for health in members if health not in _NO_OPINION]
    if known:
        return min(known, key=_RANK.__getitem__)
    if members and all(health is Health.PENDING for health in members):
        return Health.PENDING
    return Health.UNKNOWN


def describe_transition(
    old: Health | None, new: Health, progress: float | None, expected: float | None
) -> str:
    """The Event message of a health change: ``OnTrack → AtRisk (progress 0.41, expected 0.55)``."""
    before = old if old is not None else Health.UNKNOWN
    return f"{before} → {new} ({_ratio('progress', progress)}, {_ratio('expected', expected)})"


def _ratio(name: str, number: float | None) -> str:
    return f"{name} unknown" if number is None else f"{name} {number:.2f}"
