"""One key result's evaluation: plan, query, interpret, compute the new status.

Framework-free orchestration of the pure domain over the ``Querier`` port.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from okr_operator.domain.checkins import first_value, value_at
from okr_operator.domain.durations import expand_query
from okr_operator.domain.evaluation import (
    Action,
    Plan,
    backfill,
    next_status,
    plan,
    wants_backfill,
)
from okr_operator.domain.model import (
    KeyResult,
    KeyResultStatus,
    Observation,
    OwnerCheckIn,
    Period,
    Problem,
    QueryLanguage,
    Reason,
    Sample,
)
from okr_operator.domain.promql_result import interpret, interpret_range
from okr_operator.domain.query_check import Verdict, check, reconcile, verdict
from okr_operator.services.ports import Querier, RangeQuerier
from okr_operator.services.results import Result

# One history point a day, like the evaluations record.
BACKFILL_STEP = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A new status and what happened, for metrics and logs."""

    status: KeyResultStatus
    plan: Plan
    observation: Observation | None

    @property
    def result(self) -> Result:
        """What happened, for ``okr_evaluations_total{result}``."""
        if self.plan.action is Action.WAIT:
            return Result.PENDING
        if self.plan.action in (Action.FREEZE, Action.DONE):
            return Result.FROZEN
        if isinstance(self.observation, Sample):
            return Result.SUCCESS
        if isinstance(self.observation, Problem):
            return Result.of(self.observation.reason)
        return Result.SKIPPED


async def evaluate_key_result(
    kr: KeyResult,
    period: Period,
    previous: KeyResultStatus,
    *,
    querier: Querier | Problem,
    now: datetime,
    check_ins: Sequence[OwnerCheckIn] = (),
) -> Outcome:
    """Evaluate ``kr`` at ``now`` (or at its period's end, per the plan).

    A manual key result is measured by ``check_ins`` instead of ``querier``.
    """
    if kr.manual:
        return _evaluate_manual(kr, period, previous, check_ins=check_ins, now=now)
    the_plan = plan(kr, period, previous, now=now)
    observation: Observation | None = None
    baseline: Observation | None = None
    heard = Verdict.NO_ANSWER
    if the_plan.action is Action.QUERY:
        if isinstance(querier, Problem):
            observation = querier
        else:
            if the_plan.baseline_at is not None:
                baseline, heard = await _measure(kr, period, querier, the_plan.baseline_at)
            # A failed baseline capture is the evaluation's problem; the value
            # query would only add a second, less useful error.
            if baseline is None or isinstance(baseline, Sample):
                at = the_plan.at or now
                observation, heard = await _measure(kr, period, querier, at)
    status = next_status(
        kr,
        period,
        previous,
        plan=the_plan,
        observation=observation,
        baseline=baseline,
        now=now,
        query_check=None if isinstance(querier, Problem) else check(kr, querier.language, heard),
    )
    if (
        isinstance(querier, RangeQuerier)
        and isinstance(observation, Sample)
        and wants_backfill(kr, period, previous, now=now)
    ):
        status = await _backfill(kr, period, status, querier, now)
    return Outcome(status=status, plan=the_plan, observation=observation or baseline)


async def _backfill(
    kr: KeyResult, period: Period, status: KeyResultStatus, querier: RangeQuerier, now: datetime
) -> KeyResultStatus:
    """History from the period start: one range query at one-day steps, best effort.

    The source answers for what it retains; a failed or ambiguous answer leaves
    the history as it is (the next evaluations record it day by day anyway).
    """
    envelope = await querier.query_range(kr.query, period.start, now, BACKFILL_STEP)
    points = interpret_range(envelope)
    if isinstance(points, Problem):
        return status
    return backfill(kr, period, status, points)


def _evaluate_manual(
    kr: KeyResult,
    period: Period,
    previous: KeyResultStatus,
    *,
    check_ins: Sequence[OwnerCheckIn],
    now: datetime,
) -> Outcome:
    """The same state machine, with the latest CheckIn's value as the measurement."""
    the_plan = plan(kr, period, previous, now=now)
    observation: Observation | None = None
    baseline: Observation | None = None
    if the_plan.action is Action.QUERY:
        if the_plan.baseline_at is not None:
            # The value in force at the period start, else the first one reported.
            at_start = value_at(check_ins, the_plan.baseline_at) or first_value(check_ins)
            baseline = _manual_value(kr, at_start)
        if baseline is None or isinstance(baseline, Sample):
            observation = _manual_value(kr, value_at(check_ins, the_plan.at or now))
    status = next_status(
        kr,
        period,
        previous,
        plan=the_plan,
        observation=observation,
        baseline=baseline,
        now=now,
        query_check=check(kr, QueryLanguage.PROMQL, Verdict.NO_ANSWER),
    )
    if isinstance(observation, Sample):
        # The CheckIns are the manual key result's measurements: a day with a reported
        # value and no history point yet (a CheckIn dated back, a key result first
        # seen after its check-ins) gets the point an evaluation then would have made,
        # as a measured key result's history is filled from Prometheus.
        reported = [(c.time, c.value) for c in check_ins if c.value is not None and c.time <= now]
        status = backfill(kr, period, status, reported)
    return Outcome(status=status, plan=the_plan, observation=observation or baseline)


def _manual_value(kr: KeyResult, check_in: OwnerCheckIn | None) -> Observation:
    if check_in is None or check_in.value is None:
        return Problem(
            Reason.NO_DATA,
            f"no CheckIn with spec.value for KeyResult {kr.ref} yet (spec.manual: the value "
            "comes from check-ins: kubectl okr check-in ... --value)",
        )
    return Sample(check_in.value)


async def _measure(
    kr: KeyResult, period: Period, querier: Querier, at: datetime
) -> tuple[Observation, Verdict]:
    promql = expand_query(kr.query, period=period, at=at)
    envelope = await querier.query(promql, at)
    heard = verdict(envelope)
    observation = interpret(envelope, on_empty=kr.on_empty)
    return reconcile(observation, heard, kr=kr, language=querier.language), heard
