from __future__ import annotations

import pytest

from okr_operator.domain.health import classify, describe_transition, final_health, worst
from okr_operator.domain.model import Direction, Health, Lags

pytestmark = pytest.mark.unit

H = Health


@pytest.mark.parametrize(
    ("progress", "expected", "direction", "lags", "health"),
    [
        pytest.param(
            1.0, 0.3, Direction.INCREASE, Lags(), H.ACHIEVED, id="achieved while progress is 1"
        ),
        pytest.param(
            1.0, 0.3, Direction.DECREASE, Lags(), H.ACHIEVED, id="achieved for decrease too"
        ),
        pytest.param(0.6, 0.5, Direction.INCREASE, Lags(), H.ON_TRACK, id="ahead of the clock"),
        pytest.param(
            0.4, 0.5, Direction.INCREASE, Lags(), H.ON_TRACK, id="exactly at-risk lag behind"
        ),
        pytest.param(0.39, 0.5, Direction.INCREASE, Lags(), H.AT_RISK, id="more than at-risk lag"),
        pytest.param(0.25, 0.5, Direction.INCREASE, Lags(), H.AT_RISK, id="exactly off-track lag"),
        pytest.param(
            0.24, 0.5, Direction.INCREASE, Lags(), H.OFF_TRACK, id="more than off-track lag"
        ),
        pytest.param(
            0.0, 0.0, Direction.INCREASE, Lags(), H.ON_TRACK, id="no progress at the start"
        ),
        pytest.param(
            0.45,
            0.5,
            Direction.DECREASE,
            Lags(at_risk=0.02, off_track=0.2),
            H.AT_RISK,
            id="own lags",
        ),
        pytest.param(
            0.29,
            0.5,
            Direction.DECREASE,
            Lags(at_risk=0.02, off_track=0.2),
            H.OFF_TRACK,
            id="own lags off",
        ),
        pytest.param(
            1.0, 0.9, Direction.STAY_ABOVE, Lags(), H.ON_TRACK, id="stay above held is on track"
        ),
        pytest.param(
            0.0, 0.0, Direction.STAY_ABOVE, Lags(), H.OFF_TRACK, id="stay above broken is off"
        ),
        pytest.param(
            1.0, 0.9, Direction.STAY_BELOW, Lags(), H.ON_TRACK, id="stay below held is on track"
        ),
        pytest.param(
            0.0, 0.0, Direction.STAY_BELOW, Lags(), H.OFF_TRACK, id="stay below broken is off"
        ),
    ],
)
def test_classify(
    progress: float, expected: float, direction: Direction, lags: Lags, health: Health
) -> None:
    assert classify(progress=progress, expected=expected, direction=direction, lags=lags) is health


@pytest.mark.parametrize(
    ("progress", "health"),
    [
        pytest.param(1.0, H.ACHIEVED, id="achieved at full progress"),
        pytest.param(0.99, H.MISSED, id="missed below full progress"),
        pytest.param(0.0, H.MISSED, id="missed at zero"),
        pytest.param(None, H.UNKNOWN, id="unknown without progress"),
    ],
)
def test_final_health(progress: float | None, health: Health) -> None:
    assert final_health(progress) is health


@pytest.mark.parametrize(
    ("healths", "expected"),
    [
        pytest.param([], H.UNKNOWN, id="no members is unknown"),
        pytest.param([H.ON_TRACK, H.AT_RISK, H.ACHIEVED], H.AT_RISK, id="the weakest wins"),
        pytest.param([H.OFF_TRACK, H.AT_RISK], H.OFF_TRACK, id="off track is below at risk"),
        pytest.param([H.MISSED, H.OFF_TRACK], H.MISSED, id="missed is the lowest"),
        pytest.param([H.ACHIEVED, H.ON_TRACK], H.ON_TRACK, id="on track is below achieved"),
        pytest.param([H.ACHIEVED, H.UNKNOWN], H.ACHIEVED, id="unknown members are ignored"),
        pytest.param([H.PENDING, H.AT_RISK], H.AT_RISK, id="pending members are ignored"),
        pytest.param([H.UNKNOWN, H.UNKNOWN], H.UNKNOWN, id="unknown only when every member is"),
        pytest.param([H.PENDING, H.UNKNOWN], H.UNKNOWN, id="pending and unknown is unknown"),
        pytest.param([H.PENDING, H.PENDING], H.PENDING, id="all pending is pending"),
    ],
)
def test_worst(healths: list[Health], expected: Health) -> None:
    assert worst(iter(healths)) is expected


@pytest.mark.parametrize(
    ("old", "new", "progress", "expected", "message"),
    [
        pytest.param(
            H.ON_TRACK,
            H.AT_RISK,
            0.41,
            0.55,
            "OnTrack → AtRisk (progress 0.41, expected 0.55)",
            id="both known",
        ),
        pytest.param(
            H.AT_RISK,
            H.ACHIEVED,
            1.0,
            0.6666,
            "AtRisk → Achieved (progress 1.00, expected 0.67)",
            id="two decimals",
        ),
        pytest.param(
            None,
            H.PENDING,
            None,
            0.0,
            "Unknown → Pending (progress unknown, expected 0.00)",
            id="first health",
        ),
        pytest.param(
            H.ON_TRACK,
            H.UNKNOWN,
            None,
            None,
            "OnTrack → Unknown (progress unknown, expected unknown)",
            id="unknowns",
        ),
    ],
)
def test_describe_transition(
    old: Health | None, new: Health, progress: float | None, expected: float | None, message: str
) -> None:
    assert describe_transition(old, new, progress, expected) == message
