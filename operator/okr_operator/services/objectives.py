"""The objective use case: roll an objective up from its members and wake its parent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from okr_operator.domain.graph import describe_cycle, find_cycle
from okr_operator.domain.model import CarriedFrom, Objective, Problem, Reason, Ref
from okr_operator.domain.rollup import Member, objective_status
from okr_operator.services.ports import Clock, Observer
from okr_operator.services.problems import problem_status
from okr_operator.services.publisher import Publisher
from okr_operator.services.registry import ObjectiveEntry, Registry
from okr_operator.services.scheduler import next_slot


class Objectives:
    """Rolls one objective up at a time from the registry's indexes."""

    def __init__(
        self,
        *,
        registry: Registry,
        publisher: Publisher,
        observer: Observer,
        clock: Clock,
        interval: timedelta,
        touch: Callable[[Ref], None],
    ) -> None:
        self._registry = registry
        self._publisher = publisher
        self._observer = observer
        self._clock = clock
        self.interval = interval
        self._touch = touch

    async def roll_up(self, entry: ObjectiveEntry) -> datetime | None:
        """Roll ``entry`` up; return when it is due next."""
        moment = self._clock.now()
        now = moment.replace(microsecond=0)
        previous = entry.status
        obj = entry.spec
        if obj is None:
            invalid = Problem(Reason.INVALID_SPEC, entry.invalid or "invalid spec")
            status = problem_status(previous, invalid, generation=entry.generation, now=now)
            await self._publisher.objective(entry, status, self.interval)
            self._observer.objective_changed(self._registry.objective_view(entry))
            return None  # nothing to roll up until the spec is fixed
        problem = self._parent_problem(obj)
        key_results = [
            Member(
                "KeyResult",
                m.ref,
                m.spec.weight,
                m.status.progress,
                m.status.health,
                m.status.forecast,
            )
            for m in self._registry.members(obj.ref)
            if m.spec is not None
        ]
        children = [
            Member(
                "Objective",
                c.ref,
                c.spec.weight,
                c.status.progress,
                c.status.health,
                c.status.forecast,
            )
            for c in self._registry.children(obj.ref)
            if c.spec is not None
        ]
        status = objective_status(
            obj, previous, key_results=key_results, children=children, problem=problem, now=now
        )
        status = replace(status, carried_from=self._carried_from(obj))
        await self._publisher.objective(entry, status, self.interval)
        if self._registry.objective(entry.ref) is not entry:
            return None  # deleted during its write: its series must stay dropped
        self._observer.objective_changed(self._registry.objective_view(entry))
        changed = (status.progress, status.health, status.forecast) != (
            previous.progress,
            previous.health,
            previous.forecast,
        )
        if (
            changed
            and obj.parent is not None
            and (problem is None or problem.reason != Reason.CYCLE_DETECTED)
        ):
            self._touch(obj.parent)
        return next_slot(entry.uid, self.interval, moment)

    def _carried_from(self, obj: Objective) -> CarriedFrom | None:
        """``status.carriedFrom``: the named objective with its grade (None until graded)."""
        if obj.carried_from is None:
            return None
        earlier = self._registry.objective(obj.carried_from)
        grade = earlier.status.grade if earlier is not None else None
        return CarriedFrom(obj.carried_from.namespace, obj.carried_from.name, grade)

    def _parent_problem(self, obj: Objective) -> Problem | None:
        if obj.parent is None:
            return None
        cycle = find_cycle(obj.ref, self._registry.parent_of)
        if cycle is not None:
            return Problem(
                Reason.CYCLE_DETECTED, f"spec.parentRef forms a cycle: {describe_cycle(cycle)}"
            )
        if self._registry.objective(obj.parent) is None:
            return Problem(
                Reason.REFERENCE_NOT_FOUND,
                f"parent Objective {obj.parent} (spec.parentRef) not found",
            )
        return None
