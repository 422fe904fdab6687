"""next_status: the complete status after each kind of evaluation (Semantics, Bad data)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from okr_operator.domain.evaluation import Action, Plan, next_status
from okr_operator.domain.model import (
    CheckIn,
    Condition,
    ConditionStatus,
    ConditionType,
    Direction,
    Display,
    Health,
    KeyResult,
    KeyResultStatus,
    Observation,
    Problem,
    Reason,
    Sample,
)

from .helpers import Q4, ref, utc

pytestmark = pytest.mark.unit

H = Health
TRUE, FALSE, UNKNOWN = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN
NOW = utc(2026, 11, 23, 10)
EARLIER = utc(2026, 11, 20, 9)
AFTER = utc(2027, 1, 5, 8)
# 53 days 10 hours of a 92-day quarter, as hours.
EXPECTED_NOW = (53 * 24 + 10) / (92 * 24)
AT_NOW = "2026-11-23T10:00:00Z"
AT_EARLIER = "2026-11-20T09:00:00Z"

# Deployment lead time from 4 days (96 h) down to 6 h; direction inferred.
LEAD_TIME = KeyResult(
    ref=ref("lead-time"),
    generation=2,
    objective="ship-faster",
    query="histogram_quantile(0.5, sum by (le) (rate(deploy_lead_time_hours_bucket[7d])))",
    target=6.0,
    baseline=96.0,
    unit="hours",
)
# Incidents this quarter, baseline captured at the period start.
INCIDENTS = KeyResult(
    ref=ref("incidents"),
    generation=1,
    objective="reliable",
    query="sum(increase(incidents_total[$__elapsed]))",
    target=3.0,
    direction=Direction.DECREASE,
    unit="incidents",
)
# Change failure rate below 5 %.
CFR = KeyResult(
    ref=ref("cfr"),
    generation=3,
    objective="ship-faster",
    query="sum(rate(deploys_failed_total[30d])) / sum(rate(deploys_total[30d]))",
    target=0.05,
    direction=Direction.STAY_BELOW,
)


def conds(
    ready: tuple[ConditionStatus, str, str],
    data: tuple[ConditionStatus, str, str],
    *,
    since: datetime = NOW,
    data_since: datetime | None = None,
    generation: int = 2,
    stalled: bool = False,
) -> tuple[Condition, ...]:
    """Ready, DataAvailable and, when ``stalled``, Stalled=True mirroring Ready."""
    mirrored = (Condition(ConditionType.STALLED, TRUE, *ready[1:], since, generation),)
    return (
        Condition(ConditionType.READY, *ready, since, generation),
        Condition(ConditionType.DATA_AVAILABLE, *data, data_since or since, generation),
        *(mirrored if stalled else ()),
    )


def evaluate(
    kr: KeyResult,
    previous: KeyResultStatus,
    plan: Plan,
    observation: Observation | None,
    *,
    baseline: Observation | None = None,
    now: datetime = NOW,
) -> KeyResultStatus:
    return next_status(
        kr, Q4, previous, plan=plan, observation=observation, baseline=baseline, now=now
    )


GOOD = KeyResultStatus(
    observed_generation=2,
    value=60.0,
    value_time=EARLIER,
    baseline=96.0,
    progress=0.4,
    expected_progress=0.5,
    health=H.AT_RISK,
    last_evaluation_time=EARLIER,
    history=(CheckIn(time=EARLIER, progress=0.4, health=H.AT_RISK, value=60.0),),
    conditions=conds(
        (TRUE, "Evaluated", f"value 60 at {AT_EARLIER}"),
        (TRUE, "DataReceived", f"value 60 at {AT_EARLIER}"),
        since=EARLIER,
    ),
    display=Display(value="60 hours", target="6 hours"),
)


def test_a_good_value_gives_progress_health_history_and_ready() -> None:
    status = evaluate(LEAD_TIME, KeyResultStatus(), Plan(Action.QUERY, at=NOW), Sample(51.0))
    measured = f"value 51 at {AT_NOW}"
    assert status == KeyResultStatus(
        observed_generation=2,
        value=51.0,
        value_time=NOW,
        baseline=96.0,
        progress=0.5,
        expected_progress=EXPECTED_NOW,
        health=H.ON_TRACK,
        last_evaluation_time=NOW,
        grade=None,
        history=(CheckIn(time=NOW, progress=0.5, health=H.ON_TRACK, value=51.0),),
        conditions=conds((TRUE, "Evaluated", measured), (TRUE, "DataReceived", measured)),
        display=Display(value="51 hours", target="6 hours"),
    )


def test_a_later_good_value_keeps_condition_times_and_adds_a_check_in() -> None:
    status = evaluate(LEAD_TIME, GOOD, Plan(Action.QUERY, at=NOW), Sample(24.0))
    measured = f"value 24 at {AT_NOW}"
    assert status == replace(
        GOOD,
        value=24.0,
        value_time=NOW,
        progress=0.8,
        expected_progress=EXPECTED_NOW,
        health=H.ON_TRACK,
        last_evaluation_time=NOW,
        history=(*GOOD.history, CheckIn(time=NOW, progress=0.8, health=H.ON_TRACK, value=24.0)),
        conditions=conds(
            (TRUE, "Evaluated", measured), (TRUE, "DataReceived", measured), since=EARLIER
        ),
        display=Display(value="24 hours", target="6 hours"),
    )


@pytest.mark.parametrize(
    ("value", "progress", "health"),
    [
        pytest.param(6.0, 1.0, H.ACHIEVED, id="achieved while progress is 1"),
        pytest.param(2.0, 1.0, H.ACHIEVED, id="beyond the target is still achieved"),
        pytest.param(51.0, 0.5, H.ON_TRACK, id="on track within the at-risk lag"),
        pytest.param(60.0, 0.4, H.AT_RISK, id="at risk beyond the at-risk lag"),
        pytest.param(78.0, 0.2, H.OFF_TRACK, id="off track beyond the off-track lag"),
        pytest.param(120.0, 0.0, H.OFF_TRACK, id="worse than the baseline is zero progress"),
    ],
)
def test_health_follows_the_lag_rule(value: float, progress: float, health: Health) -> None:
    status = evaluate(LEAD_TIME, KeyResultStatus(), Plan(Action.QUERY, at=NOW), Sample(value))
    assert (status.progress, status.health) == (progress, health)


def test_own_lags_are_used() -> None:
    strict = replace(LEAD_TIME, lags=replace(LEAD_TIME.lags, at_risk=0.02, off_track=0.05))
    status = evaluate(strict, KeyResultStatus(), Plan(Action.QUERY, at=NOW), Sample(51.0))
    assert (status.progress, status.health) == (0.5, H.OFF_TRACK)


def test_before_the_period_it_is_pending() -> None:
    now = utc(2026, 9, 20)
    starts = "period starts at 2026-10-01T00:00:00Z"
    status = evaluate(LEAD_TIME, KeyResultStatus(), Plan(Action.WAIT), None, now=now)
    assert status == KeyResultStatus(
        observed_generation=2,
        baseline=96.0,
        progress=None,
        expected_progress=0.0,
        health=H.PENDING,
        last_evaluation_time=now,
        conditions=conds(
            (TRUE, "PeriodNotStarted", starts), (UNKNOWN, "PeriodNotStarted", starts), since=now
        ),
        display=Display(value=None, target="6 hours"),
    )


def test_the_baseline_is_captured_at_the_period_start() -> None:
    plan = Plan(Action.QUERY, at=NOW, baseline_at=Q4.start)
    status = evaluate(INCIDENTS, KeyResultStatus(), plan, Sample(5.0), baseline=Sample(9.0))
    measured = f"value 5 at {AT_NOW}"
    # From 9 incidents at the start toward 3: 5 is two thirds of the way.
    assert status == KeyResultStatus(
        observed_generation=1,
        value=5.0,
        value_time=NOW,
        baseline=9.0,
        progress=4 / 6,
        expected_progress=EXPECTED_NOW,
        health=H.ON_TRACK,
        last_evaluation_time=NOW,
        history=(CheckIn(time=NOW, progress=4 / 6, health=H.ON_TRACK, value=5.0),),
        conditions=conds(
            (TRUE, "Evaluated", measured), (TRUE, "DataReceived", measured), generation=1
        ),
        display=Display(value="5 incidents", target="3 incidents"),
    )


def test_a_captured_baseline_is_kept() -> None:
    previous = KeyResultStatus(observed_generation=1, baseline=9.0)
    status = evaluate(INCIDENTS, previous, Plan(Action.QUERY, at=NOW), Sample(6.0), baseline=None)
    assert (status.baseline, status.progress) == (9.0, 0.5)


def test_the_spec_baseline_wins_over_a_captured_one() -> None:
    status = evaluate(
        LEAD_TIME, replace(GOOD, baseline=50.0), Plan(Action.QUERY, at=NOW), Sample(51.0)
    )
    assert (status.baseline, status.progress) == (96.0, 0.5)


def test_a_failed_baseline_capture_is_reported_like_a_failed_query() -> None:
    plan = Plan(Action.QUERY, at=NOW, baseline_at=Q4.start)
    failure = Problem(Reason.QUERY_FAILED, "execution: query timed out")
    status = evaluate(INCIDENTS, KeyResultStatus(), plan, Sample(5.0), baseline=failure)
    message = "baseline at 2026-10-01T00:00:00Z: execution: query timed out"
    assert status == KeyResultStatus(
        observed_generation=1,
        expected_progress=EXPECTED_NOW,
        health=H.UNKNOWN,
        last_evaluation_time=NOW,
        conditions=conds(
            (FALSE, "QueryFailed", message), (UNKNOWN, "QueryFailed", message), generation=1
        ),
        display=Display(value=None, target="3 incidents"),
    )


def test_a_baseline_without_data_is_missing_data() -> None:
    plan = Plan(Action.QUERY, at=NOW, baseline_at=Q4.start)
    empty = Problem(Reason.NO_DATA, "query returned no series")
    status = evaluate(INCIDENTS, KeyResultStatus(), plan, Sample(5.0), baseline=empty)
    message = "baseline at 2026-10-01T00:00:00Z: query returned no series"
    assert (status.health, status.value, status.conditions) == (
        H.UNKNOWN,
        None,
        conds(
            (TRUE, "Evaluated", f"evaluated without a usable value: {message}"),
            (FALSE, "NoData", message),
            generation=1,
        ),
    )


def test_a_captured_baseline_is_kept_even_when_the_query_fails() -> None:
    plan = Plan(Action.QUERY, at=NOW, baseline_at=Q4.start)
    failure = Problem(Reason.QUERY_FAILED, "server_error: 503")
    status = evaluate(INCIDENTS, KeyResultStatus(), plan, failure, baseline=Sample(9.0))
    assert (status.baseline, status.health) == (9.0, H.UNKNOWN)


def test_without_any_baseline_health_is_unknown() -> None:
    status = evaluate(INCIDENTS, KeyResultStatus(), Plan(Action.QUERY, at=NOW), Sample(5.0))
    measured = f"value 5 at {AT_NOW}"
    assert status == KeyResultStatus(
        observed_generation=1,
        value=5.0,
        value_time=NOW,
        expected_progress=EXPECTED_NOW,
        health=H.UNKNOWN,
        last_evaluation_time=NOW,
        history=(CheckIn(time=NOW, progress=None, health=H.UNKNOWN, value=5.0),),
        conditions=conds(
            (TRUE, "Evaluated", f"{measured}; no baseline yet"),
            (TRUE, "DataReceived", measured),
            generation=1,
        ),
        display=Display(value="5 incidents", target="3 incidents"),
    )


@pytest.mark.parametrize(
    ("problem", "ready", "data", "stalled"),
    [
        pytest.param(
            Problem(Reason.QUERY_FAILED, "bad_data: 1:5: parse error: unexpected <EOF>"),
            (FALSE, "QueryFailed", "bad_data: 1:5: parse error: unexpected <EOF>"),
            (UNKNOWN, "QueryFailed", "bad_data: 1:5: parse error: unexpected <EOF>"),
            False,
            id="a rejected query is not ready, with Prometheus's error text",
        ),
        pytest.param(
            Problem(
                Reason.AMBIGUOUS_RESULT, 'query returned 2 series, expected one: {a="1"}, {a="2"}'
            ),
            (FALSE, "AmbiguousResult", 'query returned 2 series, expected one: {a="1"}, {a="2"}'),
            (UNKNOWN, "AmbiguousResult", 'query returned 2 series, expected one: {a="1"}, {a="2"}'),
            False,
            id="more than one series is not ready",
        ),
        pytest.param(
            Problem(Reason.NO_DATA, "query returned no series"),
            (TRUE, "Evaluated", "evaluated without a usable value: query returned no series"),
            (FALSE, "NoData", "query returned no series"),
            False,
            id="an empty result is missing data, never zero progress",
        ),
        pytest.param(
            Problem(Reason.NOT_A_NUMBER, "query returned NaN"),
            (TRUE, "Evaluated", "evaluated without a usable value: query returned NaN"),
            (FALSE, "NotANumber", "query returned NaN"),
            False,
            id="NaN is missing data",
        ),
        pytest.param(
            Problem(Reason.REFERENCE_NOT_FOUND, "PrometheusSource team-a/mimir not found"),
            (FALSE, "ReferenceNotFound", "PrometheusSource team-a/mimir not found"),
            (UNKNOWN, "ReferenceNotFound", "PrometheusSource team-a/mimir not found"),
            False,
            id="a missing reference given by the caller is not ready",
        ),
        pytest.param(
            Problem(Reason.INVALID_SPEC, "spec.interval: '5x' is not a duration"),
            (FALSE, "InvalidSpec", "spec.interval: '5x' is not a duration"),
            (UNKNOWN, "InvalidSpec", "spec.interval: '5x' is not a duration"),
            True,
            id="an invalid spec given by the caller is not ready and stalled",
        ),
    ],
)
def test_bad_data_keeps_the_last_good_value_with_its_time(
    problem: Problem,
    ready: tuple[ConditionStatus, str, str],
    data: tuple[ConditionStatus, str, str],
    stalled: bool,
) -> None:
    status = evaluate(LEAD_TIME, GOOD, Plan(Action.QUERY, at=NOW), problem)
    ready_since = EARLIER if ready[0] is TRUE else NOW
    assert status == replace(
        GOOD,
        expected_progress=EXPECTED_NOW,
        health=H.UNKNOWN,
        last_evaluation_time=NOW,
        conditions=conds(ready, data, since=ready_since, data_since=NOW, stalled=stalled),
    )


def test_a_missing_query_result_is_a_failed_query() -> None:
    status = evaluate(LEAD_TIME, GOOD, Plan(Action.QUERY, at=NOW), None)
    assert (status.health, status.conditions[0].reason, status.conditions[0].message) == (
        H.UNKNOWN,
        "QueryFailed",
        "the query was not evaluated",
    )


def test_a_captured_baseline_equal_to_the_target_is_an_invalid_spec() -> None:
    plan = Plan(Action.QUERY, at=NOW, baseline_at=Q4.start)
    no_direction = replace(INCIDENTS, direction=None)
    status = evaluate(no_direction, KeyResultStatus(), plan, Sample(5.0), baseline=Sample(3.0))
    message = (
        "cannot compute progress from spec.target and status.baseline: "
        "target 3 equals baseline 3: the direction cannot be inferred"
    )
    assert status == KeyResultStatus(
        observed_generation=1,
        value=5.0,
        value_time=NOW,
        baseline=3.0,
        expected_progress=EXPECTED_NOW,
        health=H.UNKNOWN,
        last_evaluation_time=NOW,
        conditions=conds(
            (FALSE, "InvalidSpec", message),
            (UNKNOWN, "InvalidSpec", message),
            generation=1,
            stalled=True,
        ),
        display=Display(value="5 incidents", target="3 incidents"),
    )


def test_a_target_on_the_wrong_side_is_an_invalid_spec() -> None:
    wrong = replace(LEAD_TIME, direction=Direction.INCREASE)
    status = evaluate(wrong, KeyResultStatus(), Plan(Action.QUERY, at=NOW), Sample(51.0))
    assert (status.health, status.conditions[0].message) == (
        H.UNKNOWN,
        "cannot compute progress from spec.target and spec.baseline: "
        "direction Increase needs target 6 above baseline 96",
    )


@pytest.mark.parametrize(
    ("value", "progress", "health"),
    [
        pytest.param(0.05, 1.0, H.ON_TRACK, id="stay below holds at the line"),
        pytest.param(0.08, 0.0, H.OFF_TRACK, id="stay below broken"),
    ],
)
def test_thresholds_are_on_or_off_track(value: float, progress: float, health: Health) -> None:
    status = evaluate(CFR, KeyResultStatus(), Plan(Action.QUERY, at=NOW), Sample(value))
    assert (status.baseline, status.progress, status.health, status.grade) == (
        None,
        progress,
        health,
        None,
    )


def test_stay_above_uses_the_value_against_the_target() -> None:
    availability = replace(CFR, target=0.999, direction=Direction.STAY_ABOVE)
    statuses = [
        evaluate(availability, KeyResultStatus(), Plan(Action.QUERY, at=NOW), Sample(value))
        for value in (0.9995, 0.99)
    ]
    assert [(s.progress, s.health) for s in statuses] == [(1.0, H.ON_TRACK), (0.0, H.OFF_TRACK)]


LAST_IN_PERIOD = utc(2026, 12, 31, 23, 59)


def in_period(value: float, progress: float, health: Health) -> KeyResultStatus:
    measured = f"value {value:g} at 2026-12-31T23:59:00Z"
    return KeyResultStatus(
        observed_generation=2,
        value=value,
        value_time=LAST_IN_PERIOD,
        baseline=96.0,
        progress=progress,
        expected_progress=1.0,
        health=health,
        last_evaluation_time=LAST_IN_PERIOD,
        history=(CheckIn(time=LAST_IN_PERIOD, progress=progress, health=health, value=value),),
        conditions=conds(
            (TRUE, "Evaluated", measured), (TRUE, "DataReceived", measured), since=EARLIER
        ),
        display=Display(value=f"{value:g} hours", target="6 hours"),
    )


@pytest.mark.parametrize(
    ("value", "progress", "live", "final"),
    [
        pytest.param(6.0, 1.0, H.ACHIEVED, H.ACHIEVED, id="achieved when the last progress was 1"),
        pytest.param(
            15.0, 0.9, H.ON_TRACK, H.MISSED, id="missed otherwise, graded by its progress"
        ),
    ],
)
def test_after_the_end_the_last_in_period_value_is_frozen(
    value: float, progress: float, live: Health, final: Health
) -> None:
    previous = in_period(value, progress, live)
    status = evaluate(LEAD_TIME, previous, Plan(Action.FREEZE), None, now=AFTER)
    measured = f"value {value:g} at 2026-12-31T23:59:00Z"
    graded = f"period ended at 2027-01-01T00:00:00Z; graded {progress:.2f} from {measured}"
    assert status == replace(
        previous,
        progress=progress,
        expected_progress=1.0,
        health=final,
        last_evaluation_time=AFTER,
        grade=progress,
        conditions=conds(
            (TRUE, "PeriodEnded", graded),
            (TRUE, "DataReceived", measured),
            since=EARLIER,
        ),
    )


def test_a_frozen_value_is_regraded_with_a_changed_spec() -> None:
    previous = replace(in_period(15.0, 0.9, H.ON_TRACK), grade=0.9, health=H.MISSED)
    easier = replace(LEAD_TIME, generation=3, target=15.0)
    status = evaluate(easier, previous, Plan(Action.FREEZE), None, now=AFTER)
    assert (status.observed_generation, status.progress, status.grade, status.health) == (
        3,
        1.0,
        1.0,
        H.ACHIEVED,
    )


def test_thresholds_are_frozen_by_the_last_in_period_value() -> None:
    previous = KeyResultStatus(
        observed_generation=3,
        value=0.08,
        value_time=LAST_IN_PERIOD,
        progress=0.0,
        health=H.OFF_TRACK,
    )
    status = evaluate(CFR, previous, Plan(Action.FREEZE), None, now=AFTER)
    assert (status.progress, status.grade, status.health) == (0.0, 0.0, H.MISSED)


def test_first_seen_after_the_end_it_is_evaluated_once_at_the_end() -> None:
    status = evaluate(
        LEAD_TIME, KeyResultStatus(), Plan(Action.QUERY, at=Q4.end), Sample(24.0), now=AFTER
    )
    measured = "value 24 at 2027-01-01T00:00:00Z"
    graded = f"period ended at 2027-01-01T00:00:00Z; graded 0.80 from {measured}"
    assert status == KeyResultStatus(
        observed_generation=2,
        value=24.0,
        value_time=Q4.end,
        baseline=96.0,
        progress=0.8,
        expected_progress=1.0,
        health=H.MISSED,
        last_evaluation_time=AFTER,
        grade=0.8,
        history=(CheckIn(time=Q4.end, progress=0.8, health=H.MISSED, value=24.0),),
        conditions=conds(
            (TRUE, "PeriodEnded", graded), (TRUE, "DataReceived", measured), since=AFTER
        ),
        display=Display(value="24 hours", target="6 hours"),
    )


def test_a_failure_at_the_end_leaves_no_grade() -> None:
    failure = Problem(Reason.QUERY_FAILED, "server_error: 503")
    status = evaluate(
        LEAD_TIME, KeyResultStatus(), Plan(Action.QUERY, at=Q4.end), failure, now=AFTER
    )
    assert (status.health, status.grade, status.expected_progress) == (H.UNKNOWN, None, 1.0)


def test_done_changes_nothing() -> None:
    previous = replace(in_period(6.0, 1.0, H.ACHIEVED), grade=1.0)
    assert evaluate(LEAD_TIME, previous, Plan(Action.DONE), None, now=AFTER) is previous


def test_a_new_generation_is_observed() -> None:
    changed = replace(LEAD_TIME, generation=7)
    status = evaluate(changed, GOOD, Plan(Action.QUERY, at=NOW), Sample(51.0))
    assert (status.observed_generation, {c.observed_generation for c in status.conditions}) == (
        7,
        {7},
    )
