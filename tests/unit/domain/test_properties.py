"""Property tests of the domain's arithmetic (hypothesis)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okr_operator.domain.durations import format_duration, parse_duration
from okr_operator.domain.health import classify, worst
from okr_operator.domain.history import MAX_POINTS, record
from okr_operator.domain.model import CheckIn, Direction, Health, Lags, Period
from okr_operator.domain.periods import expected_progress
from okr_operator.domain.progress import progress
from okr_operator.domain.rollup import Member, weighted_progress

from .helpers import ref

pytestmark = pytest.mark.unit

# Plausible OKR magnitudes: lead times, ratios, counts. Unbounded floats only
# test overflow, which the CRD's numbers never reach.
numbers = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
ratios = st.floats(min_value=0.0, max_value=1.0)
instants = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001  (hypothesis wants naive bounds)
    max_value=datetime(2030, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
MIRRORED = {
    Direction.INCREASE: Direction.DECREASE,
    Direction.DECREASE: Direction.INCREASE,
    Direction.STAY_ABOVE: Direction.STAY_BELOW,
    Direction.STAY_BELOW: Direction.STAY_ABOVE,
}


def consistent(baseline: float, target: float, direction: Direction) -> bool:
    if direction is Direction.INCREASE:
        return target > baseline
    if direction is Direction.DECREASE:
        return target < baseline
    return True


@settings(max_examples=60, deadline=None)  # a shared CI core must not flake
@given(value=numbers, baseline=numbers, target=numbers, direction=st.sampled_from(Direction))
def test_progress_stays_within_zero_and_one(
    value: float, baseline: float, target: float, direction: Direction
) -> None:
    if consistent(baseline, target, direction):
        assert 0.0 <= progress(value, baseline=baseline, target=target, direction=direction) <= 1.0


@settings(max_examples=60, deadline=None)  # a shared CI core must not flake
@given(value=numbers, baseline=numbers, target=numbers, direction=st.sampled_from(Direction))
def test_progress_is_mirrored_by_swapping_the_direction(
    value: float, baseline: float, target: float, direction: Direction
) -> None:
    # Negating every number turns "up to the target" into "down to the target".
    if consistent(baseline, target, direction):
        assert progress(value, baseline=baseline, target=target, direction=direction) == progress(
            -value, baseline=-baseline, target=-target, direction=MIRRORED[direction]
        )


@settings(max_examples=60, deadline=None)  # a shared CI core must not flake
@given(value=numbers, baseline=numbers, target=numbers)
def test_progress_reaches_one_exactly_at_the_target(
    value: float, baseline: float, target: float
) -> None:
    if baseline != target:
        direction = Direction.INCREASE if target > baseline else Direction.DECREASE
        assert progress(target, baseline=baseline, target=target, direction=direction) == 1.0


@settings(max_examples=60, deadline=None)  # a shared CI core must not flake
@given(progresses=st.lists(ratios, min_size=1, max_size=30), weight=st.floats(0.001, 1000.0))
def test_equal_weight_rollup_is_the_mean(progresses: list[float], weight: float) -> None:
    members = [
        Member(
            kind="KeyResult", ref=ref(f"kr-{i}"), weight=weight, progress=p, health=Health.ON_TRACK
        )
        for i, p in enumerate(progresses)
    ]
    rolled = weighted_progress(members)
    assert rolled is not None
    assert math.isclose(
        rolled, math.fsum(progresses) / len(progresses), rel_tol=1e-9, abs_tol=1e-12
    )


@settings(max_examples=60, deadline=None)  # a shared CI core must not flake
@given(
    start=instants,
    length=st.timedeltas(timedelta(minutes=1), timedelta(days=400)),
    a=instants,
    b=instants,
)
def test_expected_progress_never_decreases_in_time(
    start: datetime, length: timedelta, a: datetime, b: datetime
) -> None:
    period = Period(start=start, end=start + length)
    early, late = sorted((a, b))
    assert 0.0 <= expected_progress(period, early) <= expected_progress(period, late) <= 1.0


@settings(max_examples=60, deadline=None)  # a shared CI core must not flake
@given(
    progress_value=ratios,
    expected=ratios,
    better=ratios,
    direction=st.sampled_from([Direction.INCREASE, Direction.DECREASE]),
)
def test_more_progress_never_gives_worse_health(
    progress_value: float, expected: float, better: float, direction: Direction
) -> None:
    order = [Health.OFF_TRACK, Health.AT_RISK, Health.ON_TRACK, Health.ACHIEVED]
    low, high = sorted((progress_value, better))
    lags = Lags()
    assert order.index(
        classify(progress=low, expected=expected, direction=direction, lags=lags)
    ) <= order.index(classify(progress=high, expected=expected, direction=direction, lags=lags))


@settings(max_examples=60, deadline=None)  # a shared CI core must not flake
@given(healths=st.lists(st.sampled_from(Health), max_size=10))
def test_worst_is_a_member_or_unknown(healths: list[Health]) -> None:
    assert worst(healths) in {*healths, Health.UNKNOWN}


@settings(max_examples=60, deadline=None)  # a shared CI core must not flake
@given(
    offsets=st.lists(
        st.timedeltas(timedelta(0), timedelta(days=300)).map(lambda d: d // timedelta(minutes=1)),
        max_size=400,
    )
)
def test_history_is_bounded_with_one_point_a_day(offsets: list[int]) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    history: tuple[CheckIn, ...] = ()
    for minutes in offsets:
        point = CheckIn(
            time=start + timedelta(minutes=minutes), progress=0.5, health=Health.ON_TRACK
        )
        history = record(history, point)
        assert point in history or len(history) == MAX_POINTS
    days = [p.time.date() for p in history]
    assert len(history) <= MAX_POINTS
    assert days == sorted(set(days))


@settings(max_examples=60, deadline=None)  # a shared CI core must not flake
@given(
    st.timedeltas(timedelta(0), timedelta(days=100_000)).map(
        lambda d: d // timedelta(milliseconds=1)
    )
)
def test_formatted_durations_parse_back(millis: int) -> None:
    delta = timedelta(milliseconds=millis)
    assert parse_duration(format_duration(delta)) == delta
