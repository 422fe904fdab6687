"""One key result's evaluation: plan, query, interpret, compute the new status.

Framework-free orchestration of the pure domain over the ``Querier`` port.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from okr_operator.domain.durations import expand_query
from okr_operator.domain.evaluation import Action, Plan, next_status, plan
from okr_operator.domain.model import (
    KeyResult,
    KeyResultStatus,
    Observation,
    Period,
    Problem,
    Sample,
)
from okr_operator.domain.promql_result import interpret
from okr_operator.domain.query_check import Verdict, check, reconcile, verdict
from okr_operator.services.ports import Querier
from okr_operator.services.results import Result


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
) -> Outcome:
    """Evaluate ``kr`` at ``now`` (or at its period's end, per the plan)."""
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
    return Outcome(status=status, plan=the_plan, observation=observation or baseline)


async def _measure(
    kr: KeyResult, period: Period, querier: Querier, at: datetime
) -> tuple[Observation, Verdict]:
    promql = expand_query(kr.query, period=period, at=at)
    envelope = await querier.query(promql, at)
    heard = verdict(envelope)
    observation = interpret(envelope, on_empty=kr.on_empty)
    return reconcile(observation, heard, kr=kr, language=querier.language), heard
