"""An objective's status, rolled up from its key results and child objectives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from okr_operator.domain.conditions import set_conditions
from okr_operator.domain.forecast import forecast_objective
from okr_operator.domain.formatting import format_timestamp
from okr_operator.domain.health import classify, final_health, worst
from okr_operator.domain.history import record
from okr_operator.domain.model import (
    SUCCESS,
    CheckIn,
    ChildRef,
    Condition,
    ConditionStatus,
    ConditionType,
    Direction,
    Forecast,
    Health,
    Lags,
    Objective,
    ObjectiveStatus,
    Problem,
    Reason,
    Ref,
    RollupMode,
)
from okr_operator.domain.periods import Phase, expected_progress, phase


@dataclass(frozen=True, slots=True)
class Member:
    """A key result or child objective as its objective sees it."""

    kind: str  # "KeyResult" or "Objective"
    ref: Ref
    weight: float
    progress: float | None
    health: Health | None
    forecast: Forecast | None = None


def weighted_progress(members: Sequence[Member]) -> float | None:
    """The weighted mean progress over members with known progress; None without weight."""
    counted = [m for m in members if m.progress is not None and m.weight > 0]
    total = sum(m.weight for m in counted)
    if total <= 0:
        return None
    mean = sum(m.weight * (m.progress or 0.0) for m in counted) / total
    # Rounding in the sum may leave a mean of ones a hair above 1.
    return min(1.0, max(0.0, mean))


def objective_status(
    obj: Objective,
    previous: ObjectiveStatus,
    *,
    key_results: Sequence[Member],
    children: Sequence[Member],
    problem: Problem | None,
    now: datetime,
) -> ObjectiveStatus:
    """The whole new status of ``obj`` from its members at ``now``."""
    members = [*key_results, *children]
    current = phase(obj.period, now)
    expected = expected_progress(obj.period, now)
    mean = weighted_progress(members)
    grade: float | None = None
    if current is Phase.BEFORE:
        health = Health.PENDING
    elif current is Phase.ENDED:
        health, grade = final_health(mean, SUCCESS[obj.commitment]), mean
    elif mean is None:
        health = Health.UNKNOWN
    elif obj.rollup is RollupMode.WEAKEST:
        # Weight 0 means "shown, not counted", for the weakest link as for the mean.
        health = worst(m.health or Health.UNKNOWN for m in members if m.weight > 0)
    else:
        health = classify(
            progress=mean,
            expected=expected,
            direction=Direction.INCREASE,
            lags=Lags(),
            success=SUCCESS[obj.commitment],
        )
    history = previous.history
    if mean is not None and current is not Phase.BEFORE:
        # After the end the point sits at the end, so re-evaluating a finished
        # objective never pushes its in-period history out.
        moment = obj.period.end if current is Phase.ENDED else now
        history = record(history, CheckIn(time=moment, progress=mean, health=health))
    forecast = None
    if current is Phase.ACTIVE:
        forecast = forecast_objective(
            [(m.weight, m.forecast) for m in members], success=SUCCESS[obj.commitment]
        )
    return ObjectiveStatus(
        observed_generation=obj.generation,
        progress=mean,
        expected_progress=expected,
        health=health,
        last_evaluation_time=now,
        grade=grade,
        key_results=_counts(key_results),
        children=_child_refs(children),
        history=history,
        conditions=_conditions(
            obj,
            previous.conditions,
            members=members,
            mean=mean,
            current=current,
            problem=problem,
            now=now,
        ),
        forecast=forecast,
    )


def _child_refs(children: Sequence[Member]) -> tuple[ChildRef, ...]:
    refs = (
        ChildRef(
            namespace=m.ref.namespace,
            name=m.ref.name,
            progress=m.progress,
            health=m.health or Health.UNKNOWN,
        )
        for m in children
    )
    return tuple(sorted(refs, key=lambda child: (child.namespace, child.name)))


def _counts(key_results: Sequence[Member]) -> MappingProxyType[str, int]:
    counts: dict[str, int] = {"total": len(key_results)}
    for health in Health:  # enum order keeps the written mapping stable
        count = sum(1 for m in key_results if (m.health or Health.UNKNOWN) is health)
        if count:
            counts[str(health)] = count
    return MappingProxyType(counts)


def _conditions(
    obj: Objective,
    previous: Sequence[Condition],
    *,
    members: Sequence[Member],
    mean: float | None,
    current: Phase,
    problem: Problem | None,
    now: datetime,
) -> tuple[Condition, ...]:
    updates = {
        ConditionType.READY: _ready(obj, mean, members, current, problem),
        ConditionType.DATA_AVAILABLE: _data(obj, members, mean, current),
    }
    return set_conditions(previous, updates, now=now, generation=obj.generation)


def _ready(
    obj: Objective,
    mean: float | None,
    members: Sequence[Member],
    current: Phase,
    problem: Problem | None,
) -> tuple[ConditionStatus, str, str]:
    # A problem (missing parent, cycle) is reported while the members still roll
    # up: the objective's own numbers stay right, only its place in the map is wrong.
    if problem is not None:
        return ConditionStatus.FALSE, str(problem.reason), problem.message
    if current is Phase.BEFORE:
        return ConditionStatus.TRUE, str(Reason.PERIOD_NOT_STARTED), _starts(obj)
    rolled = f"rolled up {_count(members, 'member')}"
    if mean is not None:
        rolled += f": progress {mean:.2f}"
    if current is Phase.ENDED:
        ended = f"period ended at {format_timestamp(obj.period.end)}"
        return ConditionStatus.TRUE, str(Reason.PERIOD_ENDED), f"{ended}; {rolled}"
    return ConditionStatus.TRUE, str(Reason.EVALUATED), rolled


def _data(
    obj: Objective, members: Sequence[Member], mean: float | None, current: Phase
) -> tuple[ConditionStatus, str, str]:
    if not members:
        return (
            ConditionStatus.FALSE,
            str(Reason.NO_MEMBERS),
            "no key results and no child objectives",
        )
    if current is Phase.BEFORE:
        return ConditionStatus.UNKNOWN, str(Reason.PERIOD_NOT_STARTED), _starts(obj)
    known = sum(1 for m in members if m.progress is not None)
    if mean is None:
        return ConditionStatus.FALSE, str(Reason.NO_DATA), _no_progress(members, known)
    return (
        ConditionStatus.TRUE,
        str(Reason.DATA_RECEIVED),
        f"progress known for {known} of {_count(members, 'member')}",
    )


def _no_progress(members: Sequence[Member], known: int) -> str:
    if known:
        return f"only members of weight 0 have progress ({known} of {len(members)})"
    return f"none of {_count(members, 'member')} has progress yet"


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _starts(obj: Objective) -> str:
    return f"period starts at {format_timestamp(obj.period.start)}"
