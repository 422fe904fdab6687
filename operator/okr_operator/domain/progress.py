"""Progress of a key result's value between its baseline and its target."""

from __future__ import annotations

import math

from okr_operator.domain.model import Direction


def infer_direction(baseline: float, target: float) -> Direction:
    """Increase when the target lies above the baseline, Decrease when below."""
    if target > baseline:
        return Direction.INCREASE
    if target < baseline:
        return Direction.DECREASE
    raise ValueError(
        f"target {target:g} equals baseline {baseline:g}: the direction cannot be inferred"
    )


def progress(value: float, *, baseline: float | None, target: float, direction: Direction) -> float:
    """Progress in [0, 1].

    Increase and Decrease move linearly from baseline (0) to target (1);
    StayAbove and StayBelow are 1 while the value holds the line, else 0.
    """
    for name, number in (("value", value), ("target", target), ("baseline", baseline)):
        if number is not None and not math.isfinite(number):
            raise ValueError(f"{name} {number} is not a finite number")
    if direction is Direction.STAY_ABOVE:
        return 1.0 if value >= target else 0.0
    if direction is Direction.STAY_BELOW:
        return 1.0 if value <= target else 0.0
    if baseline is None:
        raise ValueError(f"direction {direction} needs a baseline")
    if baseline == target:
        raise ValueError(f"target {target:g} equals baseline {baseline:g}: progress is undefined")
    # A target on the wrong side of the baseline would silently count movement
    # the wrong way as progress, so it is rejected rather than computed.
    if infer_direction(baseline, target) is not direction:
        side = "above" if direction is Direction.INCREASE else "below"
        raise ValueError(
            f"direction {direction} needs target {target:g} {side} baseline {baseline:g}"
        )
    ratio = (value - baseline) / (target - baseline)
    return min(1.0, max(0.0, ratio))
