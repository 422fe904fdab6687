"""The key-result state machine: what to do now, and the status that results.

``plan`` decides from the period and the previous status whether to wait,
query, freeze the last in-period value or do nothing; the caller runs the
queries the plan asks for and hands the observations to ``next_status``,
which computes the whole new status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from okr_operator.domain.conditions import set_conditions
from okr_operator.domain.forecast import forecast_key_result
from okr_operator.domain.formatting import format_number, format_timestamp, key_result_display
from okr_operator.domain.health import classify, final_health
from okr_operator.domain.history import record
from okr_operator.domain.model import (
    SUCCESS,
    CheckIn,
    Commitment,
    Condition,
    ConditionStatus,
    ConditionType,
    Direction,
    Health,
    KeyResult,
    KeyResultStatus,
    Observation,
    Period,
    Problem,
    Reason,
    Sample,
)
from okr_operator.domain.periods import Phase, expected_progress, phase
from okr_operator.domain.progress import infer_direction, progress
from okr_operator.domain.promql_result import describe_warnings
from okr_operator.domain.query_check import QueryCheck, apply_check

_THRESHOLDS = (Direction.STAY_ABOVE, Direction.STAY_BELOW)
# Problems that leave the evaluation itself sound: the query ran, it just had no
# usable number. Everything else means the key result is not evaluated properly.
_DATA_PROBLEMS = (Reason.NO_DATA, Reason.NOT_A_NUMBER)
_UNUSED_HEALTHS = (Health.UNKNOWN, Health.PENDING)
_NOT_EVALUATED = Problem(Reason.QUERY_FAILED, "the query was not evaluated")


class Action(StrEnum):
    """What the operator does for a key result at one evaluation."""

    WAIT = "Wait"
    QUERY = "Query"
    FREEZE = "Freeze"
    DONE = "Done"


@dataclass(frozen=True, slots=True)
class Plan:
    """An action, and for QUERY the instants to evaluate the query and the baseline at."""

    action: Action
    at: datetime | None = None
    baseline_at: datetime | None = None


def plan(kr: KeyResult, period: Period, previous: KeyResultStatus, *, now: datetime) -> Plan:
    """Decide what this evaluation does."""
    current = phase(period, now)
    if current is Phase.BEFORE:
        return Plan(Action.WAIT)
    if current is Phase.ACTIVE:
        return _query(kr, period, previous, at=now)
    if previous.grade is not None and previous.observed_generation == kr.generation:
        return Plan(Action.DONE)
    if previous.value is not None and _within(previous.value_time, period):
        # The last in-period value is final: re-grade it (the spec may have
        # changed) but never query a finished period again.
        return Plan(Action.FREEZE)
    # First seen after the end, or nothing usable in the period: evaluate once
    # at the end, as if we had been there.
    return _query(kr, period, previous, at=period.end)


def _query(kr: KeyResult, period: Period, previous: KeyResultStatus, *, at: datetime) -> Plan:
    # Thresholds need no baseline, so a missing one must not cost a query or
    # fail the key result when the metric did not exist at the period start.
    needs_baseline = (
        kr.baseline is None and previous.baseline is None and kr.direction not in _THRESHOLDS
    )
    return Plan(Action.QUERY, at=at, baseline_at=period.start if needs_baseline else None)


def _within(moment: datetime | None, period: Period) -> bool:
    if moment is None:
        return False
    instant = moment.astimezone(UTC)
    return period.start.astimezone(UTC) <= instant < period.end.astimezone(UTC)


def transition(previous: Health | None, new: Health | None) -> bool:
    """Whether a health change deserves an Event."""
    if new is None:
        return False
    if previous is None:
        return new not in _UNUSED_HEALTHS
    return previous != new


def next_status(
    kr: KeyResult,
    period: Period,
    previous: KeyResultStatus,
    *,
    plan: Plan,
    observation: Observation | None,
    baseline: Observation | None,
    now: datetime,
    query_check: QueryCheck | None = None,
) -> KeyResultStatus:
    """The whole new status after carrying out ``plan``.

    ``query_check`` updates the QueryChecked condition (``domain.query_check``);
    None leaves it as it was.
    """
    if plan.action is Action.DONE:
        return previous
    status = _next_status(
        kr, period, previous, plan=plan, observation=observation, baseline=baseline, now=now
    )
    conditions = apply_check(status.conditions, query_check, now=now, generation=kr.generation)
    display = key_result_display(kr, status.value)
    return replace(status, conditions=conditions, display=display)


def _next_status(
    kr: KeyResult,
    period: Period,
    previous: KeyResultStatus,
    *,
    plan: Plan,
    observation: Observation | None,
    baseline: Observation | None,
    now: datetime,
) -> KeyResultStatus:
    at = plan.at or now
    effective_baseline, baseline_problem = _baseline(kr, period, previous, baseline)
    status = replace(
        previous,
        observed_generation=kr.generation,
        last_evaluation_time=now,
        expected_progress=expected_progress(period, at),
        baseline=effective_baseline,
        grade=None,
    )
    if isinstance(observation, Problem):
        return _failed(status, observation, kr=kr, now=now)
    if plan.action is Action.WAIT:
        return _waiting(status, kr=kr, period=period, now=now)
    if plan.action is Action.FREEZE:
        return _frozen(status, kr=kr, period=period, now=now)
    # A failed baseline capture fails the evaluation like a failed query: the
    # value cannot be graded, and the next evaluation captures it again.
    if observation is None or baseline_problem is not None:
        return _failed(status, baseline_problem or _NOT_EVALUATED, kr=kr, now=now)
    return _measured(status, observation, kr=kr, period=period, at=at, now=now)


def _baseline(
    kr: KeyResult, period: Period, previous: KeyResultStatus, captured: Observation | None
) -> tuple[float | None, Problem | None]:
    """The baseline in force, and the problem of a failed capture."""
    if kr.baseline is not None:
        return kr.baseline, None
    if previous.baseline is not None:
        return previous.baseline, None
    if isinstance(captured, Sample):
        return captured.value, None
    if isinstance(captured, Problem):
        message = f"baseline at {format_timestamp(period.start)}: {captured.message}"
        return None, Problem(captured.reason, message)
    return None, None


@dataclass(frozen=True, slots=True)
class _Score:
    progress: float | None
    direction: Direction | None


def _score(kr: KeyResult, baseline: float | None, value: float) -> _Score | Problem:
    """Progress of ``value`` under the current spec; None while there is no baseline."""
    direction = kr.direction
    if direction not in _THRESHOLDS and baseline is None:
        return _Score(progress=None, direction=direction)
    source = "spec.baseline" if kr.baseline is not None else "status.baseline"
    try:
        if direction is None and baseline is not None:
            direction = infer_direction(baseline, kr.target)
        if direction is None:  # unreachable: no baseline returned above
            return _Score(progress=None, direction=None)
        ratio = progress(value, baseline=baseline, target=kr.target, direction=direction)
    except ValueError as error:
        message = f"cannot compute progress from spec.target and {source}: {error}"
        return Problem(Reason.INVALID_SPEC, message)
    return _Score(progress=ratio, direction=direction)


def _conditions(
    status: KeyResultStatus,
    kr: KeyResult,
    now: datetime,
    ready: tuple[ConditionStatus, str, str],
    data: tuple[ConditionStatus, str, str],
) -> tuple[Condition, ...]:
    updates = {ConditionType.READY: ready, ConditionType.DATA_AVAILABLE: data}
    return set_conditions(status.conditions, updates, now=now, generation=kr.generation)


def _failed(
    status: KeyResultStatus, problem: Problem, *, kr: KeyResult, now: datetime
) -> KeyResultStatus:
    """No usable number: the last good value stays with its time, health is Unknown."""
    if problem.reason in _DATA_PROBLEMS:
        evaluated = f"evaluated without a usable value: {problem.message}"
        ready = (ConditionStatus.TRUE, str(Reason.EVALUATED), evaluated)
        data = (ConditionStatus.FALSE, str(problem.reason), problem.message)
    else:
        ready = (ConditionStatus.FALSE, str(problem.reason), problem.message)
        data = (ConditionStatus.UNKNOWN, str(problem.reason), problem.message)
    conditions = _conditions(status, kr, now, ready, data)
    return replace(status, health=Health.UNKNOWN, conditions=conditions)


def _waiting(
    status: KeyResultStatus, *, kr: KeyResult, period: Period, now: datetime
) -> KeyResultStatus:
    starts = f"period starts at {format_timestamp(period.start)}"
    reason = str(Reason.PERIOD_NOT_STARTED)
    conditions = _conditions(
        status,
        kr,
        now,
        ready=(ConditionStatus.TRUE, reason, starts),
        data=(ConditionStatus.UNKNOWN, reason, starts),
    )
    return replace(
        status,
        progress=None,
        expected_progress=0.0,
        health=Health.PENDING,
        conditions=conditions,
        forecast=None,
    )


def _frozen(
    status: KeyResultStatus, *, kr: KeyResult, period: Period, now: datetime
) -> KeyResultStatus:
    """Grade the last in-period value under the current spec."""
    if status.value is None or status.value_time is None:
        missing = Problem(Reason.NO_DATA, "no value was measured during the period")
        return _failed(status, missing, kr=kr, now=now)
    score = _score(kr, status.baseline, status.value)
    if isinstance(score, Problem):
        return _failed(replace(status, progress=None), score, kr=kr, now=now)
    measured = _measurement(status.value, status.value_time)
    conditions = _conditions(
        status,
        kr,
        now,
        ready=(ConditionStatus.TRUE, str(Reason.PERIOD_ENDED), _ended(period, score, measured)),
        data=(ConditionStatus.TRUE, str(Reason.DATA_RECEIVED), measured),
    )
    return replace(
        status,
        progress=score.progress,
        grade=score.progress,
        health=final_health(score.progress, _success(kr)),
        conditions=conditions,
        forecast=None,
    )


def _measured(
    status: KeyResultStatus,
    sample: Sample,
    *,
    kr: KeyResult,
    period: Period,
    at: datetime,
    now: datetime,
) -> KeyResultStatus:
    """A good value: progress, health and a check-in."""
    status = replace(status, value=sample.value, value_time=at)
    score = _score(kr, status.baseline, sample.value)
    if isinstance(score, Problem):
        # The value is real data worth showing; only the spec cannot grade it.
        return _failed(replace(status, progress=None), score, kr=kr, now=now)
    measured = _measurement(sample.value, at)
    warned = f"; {describe_warnings(sample.warnings)}" if sample.warnings else ""
    ended = phase(period, at) is Phase.ENDED
    grade: float | None = None
    if ended:
        health, grade = final_health(score.progress, _success(kr)), score.progress
        ended_message = _ended(period, score, measured) + warned
        ready = (ConditionStatus.TRUE, str(Reason.PERIOD_ENDED), ended_message)
    else:
        health = _running_health(score, kr=kr, expected=status.expected_progress or 0.0)
        suffix = "" if score.progress is not None else "; no baseline yet"
        ready = (ConditionStatus.TRUE, str(Reason.EVALUATED), measured + suffix + warned)
    data = (ConditionStatus.TRUE, str(Reason.DATA_RECEIVED), measured)
    check_in = CheckIn(time=at, progress=score.progress, health=health, value=sample.value)
    history = record(status.history, check_in)
    # The forecast is about a running period; once graded there is nothing to forecast.
    forecast = None
    if not ended:
        forecast = forecast_key_result(
            history,
            period,
            baseline=status.baseline,
            target=kr.target,
            direction=score.direction,
            success=_success(kr),
        )
    return replace(
        status,
        progress=score.progress,
        health=health,
        grade=grade,
        history=history,
        conditions=_conditions(status, kr, now, ready, data),
        forecast=forecast,
    )


def _running_health(score: _Score, *, kr: KeyResult, expected: float) -> Health:
    if score.progress is None or score.direction is None:
        return Health.UNKNOWN
    return classify(
        progress=score.progress,
        expected=expected,
        direction=score.direction,
        lags=kr.lags,
        success=_success(kr),
    )


def _success(kr: KeyResult) -> float:
    """The progress that counts as success under ``kr``'s commitment (Committed by default)."""
    return SUCCESS[kr.commitment or Commitment.COMMITTED]


def _ended(period: Period, score: _Score, measured: str) -> str:
    ended = f"period ended at {format_timestamp(period.end)}"
    if score.progress is None:
        return f"{ended}; {measured}, no baseline to grade it against"
    return f"{ended}; graded {score.progress:.2f} from {measured}"


def _measurement(value: float, at: datetime) -> str:
    return f"value {format_number(value)} at {format_timestamp(at)}"


def wants_backfill(
    kr: KeyResult, period: Period, previous: KeyResultStatus, *, now: datetime
) -> bool:
    """Whether this first measurement of a measured key result fills its history from the start.

    Once per key result: while its history is still empty, so a first evaluation
    that failed (a source not yet reachable, a query timing out on a busy
    Prometheus) does not cost the key result its backfill; only while its period
    runs and for a query without ``$__elapsed`` (which means something else at
    every step, so one range query cannot answer it).
    """
    return (
        not previous.history
        and not kr.manual
        and "$__elapsed" not in kr.query
        and phase(period, now) is Phase.ACTIVE
    )


def backfill(
    kr: KeyResult,
    period: Period,
    status: KeyResultStatus,
    points: Sequence[tuple[datetime, float]],
) -> KeyResultStatus:
    """``status`` with one history point per day of ``points`` before the newest point's day.

    Each point is graded as an evaluation at its time would have been (progress
    from the baseline in force, health against the share of the period elapsed
    then); days that already have a point keep it. The forecast follows.
    """
    if status.baseline is None and kr.direction not in _THRESHOLDS:
        return status  # nothing to grade against yet
    known = {point.time.astimezone(UTC).date() for point in status.history}
    history = status.history
    for moment, value in points:
        if not _within(moment, period) or moment.astimezone(UTC).date() in known:
            continue
        score = _score(kr, status.baseline, value)
        if isinstance(score, Problem) or score.progress is None:
            return status
        expected = expected_progress(period, moment)
        health = _running_health(score, kr=kr, expected=expected)
        history = record(
            history, CheckIn(time=moment, progress=score.progress, health=health, value=value)
        )
        known.add(moment.astimezone(UTC).date())
    if history == status.history:
        return status
    direction = kr.direction
    if direction is None and status.baseline is not None:
        direction = _score_direction(kr, status.baseline)
    forecast = forecast_key_result(
        history,
        period,
        baseline=status.baseline,
        target=kr.target,
        direction=direction,
        success=_success(kr),
    )
    return replace(status, history=history, forecast=forecast)


def _score_direction(kr: KeyResult, baseline: float) -> Direction | None:
    try:
        return infer_direction(baseline, kr.target)
    except ValueError:
        return None
