"""Statuses for objects the engine cannot evaluate at all.

An invalid spec, or a key result whose period cannot be known because its
objective is missing, has no plan to run. The status then keeps the last good
numbers (with their times), says Unknown, and carries the problem in its
conditions, so that a user sees it with ``kubectl get`` and ``kubectl describe``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from okr_operator.domain.conditions import set_condition
from okr_operator.domain.model import (
    ConditionStatus,
    ConditionType,
    Health,
    KeyResultStatus,
    ObjectiveStatus,
    Problem,
)

S = TypeVar("S", bound=KeyResultStatus | ObjectiveStatus)


def problem_status(previous: S, problem: Problem, *, generation: int, now: datetime) -> S:
    """Return ``previous`` marked Unknown with ``problem`` in Ready and DataAvailable."""
    conditions = set_condition(
        previous.conditions,
        type=ConditionType.READY,
        status=ConditionStatus.FALSE,
        reason=problem.reason,
        message=problem.message,
        now=now,
        generation=generation,
    )
    conditions = set_condition(
        conditions,
        type=ConditionType.DATA_AVAILABLE,
        status=ConditionStatus.UNKNOWN,
        reason=problem.reason,
        message=problem.message,
        now=now,
        generation=generation,
    )
    return replace(
        previous,
        observed_generation=generation,
        health=Health.UNKNOWN,
        last_evaluation_time=now,
        conditions=conditions,
    )
