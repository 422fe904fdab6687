"""Forecasts: the least-squares trend, its grading, objectives' weighted means."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okr_operator.domain.evaluation import Action, Plan, next_status
from okr_operator.domain.forecast import forecast_key_result, forecast_objective, trend
from okr_operator.domain.health import classify, final_health
from okr_operator.domain.model import (
    SUCCESS,
    Basis,
    CheckIn,
    Commitment,
    Direction,
    Forecast,
    Health,
    KeyResult,
    KeyResultStatus,
    Lags,
    Sample,
)

from .helpers import Q4, ref, utc

pytestmark = pytest.mark.unit


def day(number: float, value: float | None) -> CheckIn:
    """A history point ``number`` days after Q4's start (2026-10-01)."""
    moment = Q4.start + timedelta(days=number)
    return CheckIn(time=moment, progress=None, health=Health.ON_TRACK, value=value)


# Days 10, 12, 14 with values 10, 14, 15: mean day 12, mean value 13,
# Sxx = 4 + 0 + 4 = 8, Sxy = (-2)(-3) + 0 + (2)(2) = 10, slope 10/8 = 1.25 a day,
# intercept 13 - 1.25 * 12 = -2. Q4 has 92 days: -2 + 1.25 * 92 = 113.
THREE = (day(10, 10.0), day(12, 14.0), day(14, 15.0))


def test_the_trend_is_the_least_squares_line_computed_by_hand() -> None:
    line = trend(THREE, Q4)
    assert line is not None
    assert line.slope == pytest.approx(1.25)
    assert line.intercept == pytest.approx(-2.0)
    assert line.basis == Basis(points=3, days=4.0)


def test_an_increase_forecast_grades_the_value_at_the_period_end() -> None:
    # Target 200 from baseline 0: 113 is progress 0.565, short of 1.
    forecast = forecast_key_result(
        THREE, Q4, baseline=0.0, target=200.0, direction=Direction.INCREASE
    )
    assert forecast is not None
    assert forecast.value == pytest.approx(113.0)
    assert forecast.progress == pytest.approx(0.565)
    assert (forecast.achieves, forecast.basis) == (False, Basis(points=3, days=4.0))
    reached = forecast_key_result(
        THREE, Q4, baseline=0.0, target=100.0, direction=Direction.INCREASE
    )
    assert reached is not None
    assert (reached.progress, reached.achieves) == (1.0, True)


def test_aspirational_success_is_progress_of_seven_tenths() -> None:
    # 113 of target 150 is 0.7533: short of committed success, enough for aspirational.
    kwargs = {"baseline": 0.0, "target": 150.0, "direction": Direction.INCREASE}
    committed = forecast_key_result(THREE, Q4, **kwargs)  # type: ignore[arg-type]
    aspirational = forecast_key_result(THREE, Q4, success=0.7, **kwargs)  # type: ignore[arg-type]
    assert committed is not None
    assert aspirational is not None
    assert committed.progress == pytest.approx(113 / 150)
    assert (committed.achieves, aspirational.achieves) == (False, True)


def test_a_decrease_forecast() -> None:
    # 100, 95, 90 on days 0, 5, 10: one less a day, 8 at day 92; target 50 is passed.
    points = (day(0, 100.0), day(5, 95.0), day(10, 90.0))
    forecast = forecast_key_result(
        points, Q4, baseline=100.0, target=50.0, direction=Direction.DECREASE
    )
    assert forecast is not None
    assert forecast.value == pytest.approx(8.0)
    assert (forecast.progress, forecast.achieves) == (1.0, True)


def test_stay_below_forecasts_whether_the_line_still_holds_at_the_end() -> None:
    # p95 latency 0.10, 0.15, 0.20 s on days 0, 5, 10: 0.01 s a day, 1.02 s at the end.
    points = (day(0, 0.10), day(5, 0.15), day(10, 0.20))
    breaks = forecast_key_result(
        points, Q4, baseline=None, target=0.3, direction=Direction.STAY_BELOW
    )
    holds = forecast_key_result(
        points, Q4, baseline=None, target=1.5, direction=Direction.STAY_BELOW
    )
    assert breaks is not None
    assert holds is not None
    assert breaks.value == pytest.approx(1.02)
    assert (breaks.progress, breaks.achieves) == (0.0, False)
    assert (holds.progress, holds.achieves) == (1.0, True)
    above = forecast_key_result(
        points, Q4, baseline=None, target=0.3, direction=Direction.STAY_ABOVE
    )
    assert above is not None
    assert above.achieves


@pytest.mark.parametrize(
    "points",
    [
        pytest.param((day(10, 1.0), day(14, 2.0)), id="two points"),
        pytest.param((day(10, 1.0), day(11, 2.0), day(12.9, 3.0)), id="2.9 days"),
        pytest.param((day(10, 1.0), day(12, None), day(14, 3.0)), id="a point without value"),
        pytest.param((day(-5, 1.0), day(10, 2.0), day(12, 3.0)), id="a point before the period"),
        pytest.param((day(10, 1.0), day(12, 2.0), day(92, 3.0)), id="a point at the end"),
    ],
)
def test_no_forecast_from_fewer_than_three_points_over_three_days(
    points: tuple[CheckIn, ...],
) -> None:
    assert trend(points, Q4) is None
    assert (
        forecast_key_result(points, Q4, baseline=0.0, target=5.0, direction=Direction.INCREASE)
        is None
    )


def test_no_forecast_without_a_baseline_or_a_direction() -> None:
    assert forecast_key_result(THREE, Q4, baseline=None, target=5.0, direction=None) is None
    no_baseline = forecast_key_result(
        THREE, Q4, baseline=None, target=5.0, direction=Direction.INCREASE
    )
    assert no_baseline is None


def test_an_objective_forecasts_the_weighted_mean_of_its_members() -> None:
    # (3 * 0.5 + 1 * 1.0) / 4 = 0.625; the member without a forecast and the one of
    # weight 0 are not counted.
    members = [
        (3.0, Forecast(progress=0.5, achieves=False)),
        (1.0, Forecast(progress=1.0, achieves=True)),
        (2.0, None),
        (0.0, Forecast(progress=0.0, achieves=False)),
    ]
    forecast = forecast_objective(members)
    assert forecast == Forecast(progress=0.625, achieves=False)
    assert forecast_objective(members, success=0.6) == Forecast(progress=0.625, achieves=True)
    assert forecast_objective([(1.0, None)]) is None


LEADS = KeyResult(
    ref=ref("deploys"),
    generation=1,
    objective="ship",
    query="sum(dora_deployments_total)",
    target=200.0,
    baseline=0.0,
)


def test_a_measurement_writes_the_forecast_from_the_recorded_history() -> None:
    # Two points in status, the third is measured now (day 14): the THREE trend.
    now = Q4.start + timedelta(days=14)
    previous = KeyResultStatus(baseline=0.0, history=THREE[:2])
    status = next_status(
        LEADS,
        Q4,
        previous,
        plan=Plan(Action.QUERY, at=now),
        observation=Sample(15.0),
        baseline=None,
        now=now,
    )
    assert status.forecast is not None
    assert status.forecast.value == pytest.approx(113.0)
    assert status.forecast.progress == pytest.approx(0.565)
    assert status.forecast.basis == Basis(points=3, days=4.0)


def test_there_is_no_forecast_once_the_period_has_ended() -> None:
    previous = KeyResultStatus(baseline=0.0, history=THREE)
    after = utc(2027, 1, 2)
    status = next_status(
        LEADS,
        Q4,
        previous,
        plan=Plan(Action.QUERY, at=Q4.end),
        observation=Sample(150.0),
        baseline=None,
        now=after,
    )
    assert status.grade == pytest.approx(0.75)
    assert status.forecast is None


# --- properties -----------------------------------------------------------------

days = st.lists(st.floats(0.0, 91.0, allow_nan=False), min_size=3, max_size=30, unique=True).filter(
    lambda xs: max(xs) - min(xs) >= 3.0
)
coefficients = st.floats(-1000.0, 1000.0, allow_nan=False)


@given(days, coefficients, coefficients)
def test_points_on_a_line_forecast_that_line_at_the_end(
    xs: list[float], intercept: float, slope: float
) -> None:
    points = [day(x, intercept + slope * x) for x in xs]
    line = trend(points, Q4)
    assert line is not None
    assert line.at(92.0) == pytest.approx(intercept + slope * 92.0, abs=1e-6, rel=1e-6)


@given(days, st.lists(coefficients, min_size=30, max_size=30), coefficients)
def test_shifting_every_value_shifts_the_forecast_value(
    xs: list[float], values: list[float], shift: float
) -> None:
    points = [day(x, v) for x, v in zip(xs, values, strict=False)]
    moved = [day(x, v + shift) for x, v in zip(xs, values, strict=False)]
    line, shifted = trend(points, Q4), trend(moved, Q4)
    assert line is not None
    assert shifted is not None
    assert shifted.at(92.0) == pytest.approx(line.at(92.0) + shift, abs=1e-6)


@given(days, st.lists(coefficients, min_size=30, max_size=30))
def test_forecast_progress_is_a_ratio_and_achieves_means_reaching_one(
    xs: list[float], values: list[float]
) -> None:
    points = [day(x, v) for x, v in zip(xs, values, strict=False)]
    forecast = forecast_key_result(
        points, Q4, baseline=-10.0, target=10.0, direction=Direction.INCREASE
    )
    assert forecast is not None
    assert 0.0 <= forecast.progress <= 1.0
    assert forecast.achieves is (forecast.progress >= 1.0)


@given(
    st.lists(st.tuples(st.floats(0.0, 10.0), st.floats(0.0, 1.0)), min_size=1, max_size=10).filter(
        lambda ms: sum(w for w, _ in ms) > 0
    )
)
def test_an_objective_forecast_lies_between_its_members(
    members: list[tuple[float, float]],
) -> None:
    forecasts = [(w, Forecast(progress=p, achieves=p >= 1.0)) for w, p in members]
    forecast = forecast_objective(forecasts)
    counted = [p for w, p in members if w > 0]
    assert forecast is not None
    assert min(counted) - 1e-9 <= forecast.progress <= max(counted) + 1e-9


# --- commitment ---------------------------------------------------------------


def test_aspirational_health_compares_progress_with_seven_tenths_of_expected() -> None:
    # Expected 0.6: committed needs 0.5 (lag 0.10) for OnTrack, aspirational 0.42 - 0.10 = 0.32.
    lags = Lags()
    committed = classify(progress=0.4, expected=0.6, direction=Direction.INCREASE, lags=lags)
    aspirational = classify(
        progress=0.4, expected=0.6, direction=Direction.INCREASE, lags=lags, success=0.7
    )
    assert (committed, aspirational) == (Health.AT_RISK, Health.ON_TRACK)
    assert (
        classify(progress=0.1, expected=0.6, direction=Direction.INCREASE, lags=lags, success=0.7)
        is Health.OFF_TRACK
    )


def test_after_the_period_an_aspirational_grade_of_seven_tenths_is_achieved() -> None:
    assert final_health(0.7, SUCCESS[Commitment.ASPIRATIONAL]) is Health.ACHIEVED
    assert final_health(0.69, SUCCESS[Commitment.ASPIRATIONAL]) is Health.MISSED
    assert final_health(0.7, SUCCESS[Commitment.COMMITTED]) is Health.MISSED
    assert final_health(1.0) is Health.ACHIEVED


def test_an_aspirational_key_result_is_graded_achieved_at_the_end() -> None:
    stretch = replace(LEADS, commitment=Commitment.ASPIRATIONAL)
    previous = KeyResultStatus(baseline=0.0, history=THREE)
    kwargs = {"plan": Plan(Action.QUERY, at=Q4.end), "baseline": None, "now": utc(2027, 1, 2)}
    graded = next_status(stretch, Q4, previous, observation=Sample(150.0), **kwargs)  # type: ignore[arg-type]
    committed = next_status(LEADS, Q4, previous, observation=Sample(150.0), **kwargs)  # type: ignore[arg-type]
    assert graded.grade == pytest.approx(0.75)
    assert (graded.health, committed.health) == (Health.ACHIEVED, Health.MISSED)


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_aspirational_health_is_never_worse_than_committed(
    progress: float, expected: float
) -> None:
    rank = [Health.OFF_TRACK, Health.AT_RISK, Health.ON_TRACK, Health.ACHIEVED]
    lags = Lags()
    committed = classify(
        progress=progress, expected=expected, direction=Direction.INCREASE, lags=lags
    )
    aspirational = classify(
        progress=progress, expected=expected, direction=Direction.INCREASE, lags=lags, success=0.7
    )
    assert rank.index(aspirational) >= rank.index(committed)
