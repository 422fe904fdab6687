"""History backfill: one range query's points become the period's daily history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from okr_operator.domain.evaluation import backfill, wants_backfill
from okr_operator.domain.model import (
    CheckIn,
    Direction,
    Health,
    KeyResult,
    KeyResultStatus,
    Problem,
    Reason,
)
from okr_operator.domain.promql_result import interpret_range

from .helpers import Q4, ref, utc

pytestmark = pytest.mark.unit

DEPLOYS = KeyResult(
    ref=ref("deploys"),
    generation=1,
    objective="ship",
    query="sum(dora_deployments_total)",
    target=200.0,
    baseline=0.0,
)
NOW = Q4.start + timedelta(days=14, hours=10)


def matrix(*values: tuple[float, str]) -> dict[str, object]:
    return {
        "status": "success",
        "data": {"resultType": "matrix", "result": [{"metric": {}, "values": list(values)}]},
    }


def test_a_range_answer_becomes_points_in_time_order() -> None:
    start = Q4.start.timestamp()
    points = interpret_range(matrix((start, "10"), (start + 86400, "NaN"), (start + 172800, "12")))
    assert points == [(Q4.start, 10.0), (Q4.start + timedelta(days=2), 12.0)]


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        ({"status": "error", "errorType": "bad_data", "error": "parse error"}, Reason.QUERY_FAILED),
        (
            {"status": "success", "data": {"resultType": "vector", "result": []}},
            Reason.QUERY_FAILED,
        ),
        (
            {
                "status": "success",
                "data": {"resultType": "matrix", "result": [{"values": []}, {"values": []}]},
            },
            Reason.AMBIGUOUS_RESULT,
        ),
        (matrix((1.0, "x")), Reason.QUERY_FAILED),
    ],
)
def test_a_bad_range_answer_is_a_problem(envelope: dict[str, object], reason: Reason) -> None:
    problem = interpret_range(envelope)
    assert isinstance(problem, Problem)
    assert problem.reason is reason


def test_nothing_retained_is_no_points() -> None:
    empty = {"status": "success", "data": {"resultType": "matrix", "result": []}}
    assert interpret_range(empty) == []


def test_backfill_grades_each_day_and_keeps_todays_measured_point() -> None:
    today = CheckIn(time=NOW, progress=0.075, health=Health.ON_TRACK, value=15.0)
    measured = KeyResultStatus(baseline=0.0, history=(today,))
    days = [Q4.start + timedelta(days=k) for k in (0, 10, 12, 14)]
    # Day 14 at 00:00 is today's UTC day: the measured point stays.
    status = backfill(DEPLOYS, Q4, measured, list(zip(days, [0.0, 10.0, 14.0, 99.0], strict=True)))
    assert [(p.time, p.value) for p in status.history] == [
        (days[0], 0.0),
        (days[1], 10.0),
        (days[2], 14.0),
        (NOW, 15.0),
    ]
    # Day 10: progress 10/200 = 0.05 where 10/92 = 0.1087 was expected: OnTrack (lag 0.10).
    # Day 12: 0.07 against 12/92 = 0.1304: 0.0604 behind, OnTrack; day 0: 0 of 0.
    assert [p.progress for p in status.history[:3]] == [0.0, 0.05, 0.07]
    assert [p.health for p in status.history[:3]] == [Health.ON_TRACK] * 3
    # 4 points over 14.4 days now give a forecast (none from one point before).
    assert status.forecast is not None
    assert status.forecast.basis is not None
    assert (status.forecast.basis.points, status.forecast.basis.days) == (4, pytest.approx(14.4167))


def test_backfill_skips_points_outside_the_period_and_without_a_baseline() -> None:
    before = [(Q4.start - timedelta(days=1), 5.0)]
    assert backfill(DEPLOYS, Q4, KeyResultStatus(baseline=0.0), before).history == ()
    no_baseline = KeyResult(ref=ref("x"), generation=1, objective="ship", query="q", target=200.0)
    points = [(Q4.start, 1.0)]
    assert backfill(no_baseline, Q4, KeyResultStatus(), points) == KeyResultStatus()
    threshold = KeyResult(
        ref=ref("t"), generation=1, objective="o", query="q", target=5.0,
        direction=Direction.STAY_BELOW,
    )  # fmt: skip
    (point,) = backfill(threshold, Q4, KeyResultStatus(), points).history
    assert (point.progress, point.health) == (1.0, Health.ON_TRACK)


def test_backfill_happens_once_on_first_sight_of_a_running_measured_key_result() -> None:
    assert wants_backfill(DEPLOYS, Q4, KeyResultStatus(), now=NOW)
    seen = KeyResultStatus(
        last_evaluation_time=NOW - timedelta(minutes=1),
        history=(CheckIn(time=NOW - timedelta(minutes=1), progress=0.5, health=Health.ON_TRACK),),
    )
    assert not wants_backfill(DEPLOYS, Q4, seen, now=NOW)
    # A first evaluation that failed recorded no point: the first good one still fills.
    failed = KeyResultStatus(last_evaluation_time=NOW - timedelta(minutes=1))
    assert wants_backfill(DEPLOYS, Q4, failed, now=NOW)
    assert not wants_backfill(DEPLOYS, Q4, KeyResultStatus(), now=utc(2026, 9, 1))
    assert not wants_backfill(DEPLOYS, Q4, KeyResultStatus(), now=utc(2027, 2, 1))
    elapsed = KeyResult(
        ref=ref("e"), generation=1, objective="o", query="sum(increase(x[$__elapsed]))",
        target=5.0, baseline=0.0,
    )  # fmt: skip
    assert not wants_backfill(elapsed, Q4, KeyResultStatus(), now=NOW)
    manual = KeyResult(
        ref=ref("m"), generation=1, objective="o", query="", target=5.0, baseline=0.0,
        manual=True,
    )  # fmt: skip
    assert not wants_backfill(manual, Q4, KeyResultStatus(), now=NOW)
