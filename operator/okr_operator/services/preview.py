"""``okr preview``: evaluate a set of manifests once, at one instant, as the engine would.

The same code as the operator's evaluation: ``evaluate_key_result`` (the plan,
the queries, ``next_status``) for every key result from a fresh status, and
``objective_status`` for every objective, children before their parents, so an
objective rolls up what its key results and child objectives just measured.
Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from okr_operator.domain.graph import describe_cycle, find_cycle
from okr_operator.domain.model import (
    KeyResult,
    KeyResultStatus,
    Objective,
    ObjectiveStatus,
    OwnerCheckIn,
    Problem,
    Reason,
    Ref,
)
from okr_operator.domain.rollup import Member, objective_status
from okr_operator.services.evaluate import evaluate_key_result
from okr_operator.services.ports import QuerierResolver
from okr_operator.services.problems import problem_status


@dataclass(frozen=True)
class Preview:
    """The status every key result and objective would have at ``at``."""

    at: datetime
    key_results: dict[Ref, KeyResultStatus]
    objectives: dict[Ref, ObjectiveStatus]


async def preview(
    key_results: Sequence[KeyResult],
    objectives: Sequence[Objective],
    *,
    resolver: QuerierResolver,
    at: datetime,
    check_ins: Sequence[OwnerCheckIn] = (),
) -> Preview:
    """Evaluate everything at ``at``; an objective not among ``objectives`` is not looked up.

    Manual key results are measured by the ``check_ins`` given (those in the files).
    """
    by_ref = {obj.ref: obj for obj in objectives}
    kr_status: dict[Ref, KeyResultStatus] = {}
    for kr in sorted(key_results, key=lambda k: k.ref):
        objective = by_ref.get(Ref(kr.ref.namespace, kr.objective))
        if objective is None:
            # As in the engine: the objectiveRef places a key result in the map,
            # so without its objective it is not evaluated.
            missing = Problem(
                Reason.REFERENCE_NOT_FOUND,
                f"Objective {kr.ref.namespace}/{kr.objective} (spec.objectiveRef) "
                "is not in the files given",
            )
            kr_status[kr.ref] = problem_status(
                KeyResultStatus(), missing, generation=kr.generation, now=at
            )
            continue
        querier = await resolver.resolve(kr.ref.namespace, kr.source)
        period = kr.period or objective.period
        # As in the engine: without a commitment of its own, the objective's.
        inherited = kr if kr.commitment else replace(kr, commitment=objective.commitment)
        mine = [
            c
            for c in check_ins
            if (c.ref.namespace, c.key_result) == (kr.ref.namespace, kr.ref.name)
        ]
        outcome = await evaluate_key_result(
            inherited, period, KeyResultStatus(), querier=querier, now=at, check_ins=mine
        )
        kr_status[kr.ref] = outcome.status

    obj_status: dict[Ref, ObjectiveStatus] = {}
    for obj in _children_first(objectives, by_ref):
        members = [
            Member(
                "KeyResult",
                kr.ref,
                kr.weight,
                kr_status[kr.ref].progress,
                kr_status[kr.ref].health,
                kr_status[kr.ref].forecast,
            )
            for kr in key_results
            if kr.ref.namespace == obj.ref.namespace and kr.objective == obj.ref.name
        ]
        children = [
            Member(
                "Objective",
                child.ref,
                child.weight,
                obj_status.get(child.ref, ObjectiveStatus()).progress,
                obj_status.get(child.ref, ObjectiveStatus()).health,
                obj_status.get(child.ref, ObjectiveStatus()).forecast,
            )
            for child in objectives
            if child.parent == obj.ref and child.ref != obj.ref
        ]
        obj_status[obj.ref] = objective_status(
            obj,
            ObjectiveStatus(),
            key_results=members,
            children=children,
            problem=_cycle(obj, by_ref),
            now=at,
        )
    return Preview(at=at, key_results=kr_status, objectives=obj_status)


def _cycle(obj: Objective, by_ref: dict[Ref, Objective]) -> Problem | None:
    # A parent outside the files is not an error here: the cluster may have it.
    if obj.parent is None:
        return None
    cycle = find_cycle(obj.ref, lambda ref: by_ref[ref].parent if ref in by_ref else None)
    if cycle is None:
        return None
    return Problem(Reason.CYCLE_DETECTED, f"spec.parentRef forms a cycle: {describe_cycle(cycle)}")


def _children_first(
    objectives: Sequence[Objective], by_ref: dict[Ref, Objective]
) -> list[Objective]:
    """Deepest objectives first; objectives on a cycle last (they have no depth)."""

    def depth(obj: Objective) -> int | None:
        seen: set[Ref] = set()
        steps, node = 0, obj
        while node.parent is not None and node.parent in by_ref:
            if node.ref in seen:
                return None
            seen.add(node.ref)
            node, steps = by_ref[node.parent], steps + 1
        return steps

    ranked = [(depth(obj), obj) for obj in sorted(objectives, key=lambda o: o.ref)]
    acyclic = sorted((pair for pair in ranked if pair[0] is not None), key=lambda p: -(p[0] or 0))
    return [obj for _, obj in acyclic] + [obj for d, obj in ranked if d is None]
