from __future__ import annotations

import math

import pytest

from okr_operator.domain.model import Direction
from okr_operator.domain.progress import infer_direction, progress

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("baseline", "target", "expected"),
    [
        pytest.param(10.0, 20.0, Direction.INCREASE, id="a target above the baseline is Increase"),
        pytest.param(96.0, 6.0, Direction.DECREASE, id="a target below the baseline is Decrease"),
        pytest.param(-1.0, 0.0, Direction.INCREASE, id="negative baselines work"),
    ],
)
def test_infer_direction(baseline: float, target: float, expected: Direction) -> None:
    assert infer_direction(baseline, target) is expected


def test_infer_direction_rejects_a_target_equal_to_the_baseline() -> None:
    with pytest.raises(ValueError, match=r"^target 5 equals baseline 5: the direction cannot"):
        infer_direction(5.0, 5.0)


@pytest.mark.parametrize(
    ("value", "baseline", "target", "direction", "expected"),
    [
        pytest.param(15.0, 10.0, 20.0, Direction.INCREASE, 0.5, id="increase half-way"),
        pytest.param(10.0, 10.0, 20.0, Direction.INCREASE, 0.0, id="increase at the baseline"),
        pytest.param(20.0, 10.0, 20.0, Direction.INCREASE, 1.0, id="increase at the target"),
        pytest.param(25.0, 10.0, 20.0, Direction.INCREASE, 1.0, id="beyond the target clamps to 1"),
        pytest.param(
            5.0, 10.0, 20.0, Direction.INCREASE, 0.0, id="behind the baseline clamps to 0"
        ),
        # Deployment lead time from 4 days (96 h) to 6 hours.
        pytest.param(51.0, 96.0, 6.0, Direction.DECREASE, 0.5, id="decrease half-way"),
        pytest.param(6.0, 96.0, 6.0, Direction.DECREASE, 1.0, id="decrease at the target"),
        pytest.param(2.0, 96.0, 6.0, Direction.DECREASE, 1.0, id="decrease beyond the target"),
        pytest.param(120.0, 96.0, 6.0, Direction.DECREASE, 0.0, id="decrease gone the wrong way"),
        pytest.param(
            0.05, None, 0.05, Direction.STAY_ABOVE, 1.0, id="stay above holds at the line"
        ),
        pytest.param(0.04, None, 0.05, Direction.STAY_ABOVE, 0.0, id="stay above broken"),
        pytest.param(
            0.05, None, 0.05, Direction.STAY_BELOW, 1.0, id="stay below holds at the line"
        ),
        pytest.param(0.06, None, 0.05, Direction.STAY_BELOW, 0.0, id="stay below broken"),
        pytest.param(
            0.06, 1.0, 0.05, Direction.STAY_BELOW, 0.0, id="thresholds ignore the baseline"
        ),
    ],
)
def test_progress(
    value: float, baseline: float | None, target: float, direction: Direction, expected: float
) -> None:
    assert progress(value, baseline=baseline, target=target, direction=direction) == expected


@pytest.mark.parametrize(
    ("value", "baseline", "target", "direction", "message"),
    [
        pytest.param(
            1.0,
            None,
            2.0,
            Direction.INCREASE,
            "direction Increase needs a baseline",
            id="no baseline",
        ),
        pytest.param(
            1.0,
            2.0,
            2.0,
            Direction.DECREASE,
            "target 2 equals baseline 2",
            id="target equals baseline",
        ),
        pytest.param(
            1.0,
            10.0,
            5.0,
            Direction.INCREASE,
            "direction Increase needs target 5 above baseline 10",
            id="increase with the target below the baseline",
        ),
        pytest.param(
            1.0,
            5.0,
            10.0,
            Direction.DECREASE,
            "direction Decrease needs target 10 below baseline 5",
            id="decrease with the target above the baseline",
        ),
        pytest.param(math.nan, 0.0, 1.0, Direction.INCREASE, "value nan is not", id="NaN value"),
        pytest.param(
            1.0, 0.0, math.inf, Direction.INCREASE, "target inf is not", id="infinite target"
        ),
    ],
)
def test_progress_rejects_what_cannot_be_computed(
    value: float, baseline: float | None, target: float, direction: Direction, message: str
) -> None:
    with pytest.raises(ValueError, match="^" + message):
        progress(value, baseline=baseline, target=target, direction=direction)
