"""The evaluation engine: one scheduler for every key result and objective.

kopf's watches feed the engine the objects (``upsert_*``/``remove_*``); the
engine keeps them in memory, evaluates each key result at its own
``spec.interval`` with bounded concurrency, rolls results up the alignment map,
and writes status only when something a user acts on changed (health, a
condition, the observed generation) or once per ``status_interval``. Metrics see
every evaluation.

Why not one kopf timer per key result: kopf timers have one interval per
decorator (ours is per object), log every tick, and would make N tasks that
all patch on their own. One heap-ordered scheduler keeps lateness measurable,
concurrency bounded and API-server writes proportional to real change.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from okr_operator.domain.evaluation import transition
from okr_operator.domain.graph import describe_cycle, find_cycle
from okr_operator.domain.health import describe_transition
from okr_operator.domain.model import (
    Health,
    KeyResult,
    KeyResultStatus,
    Objective,
    ObjectiveStatus,
    Period,
    Problem,
    Reason,
    Ref,
)
from okr_operator.domain.rollup import Member, objective_status
from okr_operator.domain.writes import needs_write_now, write_due
from okr_operator.services.evaluate import evaluate_key_result
from okr_operator.services.ports import Clock, EventSink, Observer, QuerierResolver, StatusWriter
from okr_operator.services.problems import problem_status

log = logging.getLogger("okr_operator.engine")

Kind = Literal["KeyResult", "Objective"]
_BAD_HEALTH = {Health.OFF_TRACK, Health.MISSED, Health.UNKNOWN}


@dataclass(slots=True)
class _Entry:
    """What the engine knows about one object."""

    kind: Kind
    ref: Ref
    uid: str
    generation: int
    spec: KeyResult | Objective | None
    invalid: str | None
    status: KeyResultStatus | ObjectiveStatus
    written: KeyResultStatus | ObjectiveStatus | None
    last_write: datetime | None
    due: datetime | None = None
    running: bool = False
    rerun: bool = False


@dataclass(order=True, slots=True)
class _Slot:
    due: datetime
    seq: int
    kind: Kind = field(compare=False)
    ref: Ref = field(compare=False)


class Engine:
    """Schedules evaluations, rolls up objectives and writes status."""

    def __init__(
        self,
        *,
        resolver: QuerierResolver,
        writer: StatusWriter,
        events: EventSink,
        observer: Observer,
        clock: Clock,
        status_interval: timedelta = timedelta(minutes=5),
        objective_interval: timedelta = timedelta(seconds=30),
        concurrency: int = 32,
    ) -> None:
        self._resolver = resolver
        self._writer = writer
        self._events = events
        self._observer = observer
        self._clock = clock
        self._status_interval = status_interval
        self._objective_interval = objective_interval
        self._limit = asyncio.Semaphore(concurrency)
        self._key_results: dict[Ref, _Entry] = {}
        self._objectives: dict[Ref, _Entry] = {}
        self._heap: list[_Slot] = []
        self._seq = 0
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.last_loop: float = time.monotonic()

    # ----- inputs from the watches ------------------------------------------

    def upsert(
        self,
        kind: Kind,
        ref: Ref,
        *,
        uid: str,
        generation: int,
        spec: KeyResult | Objective | None,
        invalid: str | None,
        status: KeyResultStatus | ObjectiveStatus,
    ) -> None:
        """Add or update an object; a new generation is evaluated at once.

        ``spec`` is None when it did not parse; ``invalid`` then says why.
        """
        self._upsert(
            kind, ref, uid=uid, generation=generation, spec=spec, invalid=invalid, status=status
        )
        if kind == "KeyResult":
            return
        # Key results waiting for this objective (ReferenceNotFound, inherited
        # period) and children whose parent appeared recover now, not later.
        for kr in self._key_results.values():
            if (
                isinstance(kr.spec, KeyResult)
                and kr.spec.objective == ref.name
                and kr.ref.namespace == ref.namespace
                and kr.status.health is Health.UNKNOWN
            ):
                self._schedule(kr, self._clock.now())
        for child in self._children_of(ref):
            self._schedule(child, self._clock.now())
        # Key results restored before their objective was seen get its period.
        for kr in self._key_results.values():
            if (
                isinstance(kr.spec, KeyResult)
                and kr.spec.objective == ref.name
                and kr.ref.namespace == ref.namespace
            ):
                self._restore_metrics(kr)

    def _restore_metrics(self, entry: _Entry) -> None:
        # Until its next evaluation (up to one interval away) the metrics show
        # what the object says, not a gap. The metrics adapter ignores this once
        # the key result has been evaluated.
        spec, status = entry.spec, entry.status
        if not isinstance(spec, KeyResult) or not isinstance(status, KeyResultStatus):
            return
        if status.observed_generation is None:
            return
        period = self._period_of(spec)
        known = period if isinstance(period, Period) else spec.period
        self._observer.key_result_restored(spec, known, status)

    def remove(self, kind: Kind, ref: Ref) -> None:
        """Forget a deleted object and drop its metrics."""
        table = self._table(kind)
        entry = table.pop(ref, None)
        if entry is None:
            return
        if kind == "KeyResult":
            self._observer.key_result_removed(ref)
            if isinstance(entry.spec, KeyResult):
                self._touch_objective(Ref(ref.namespace, entry.spec.objective))
        else:
            self._observer.objective_removed(ref)
            if isinstance(entry.spec, Objective) and entry.spec.parent is not None:
                self._touch_objective(entry.spec.parent)
            for child in self._children_of(ref):
                self._schedule(child, self._clock.now())

    def counts(self) -> dict[str, int]:
        """Sizes for the liveness probe."""
        return {
            "keyResults": len(self._key_results),
            "objectives": len(self._objectives),
            "running": sum(1 for t in self._tasks if not t.done()),
        }

    # ----- the scheduler ----------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled."""
        try:
            while True:
                self.last_loop = time.monotonic()
                now = self._clock.now()
                while self._heap and self._heap[0].due <= now:
                    slot = heapq.heappop(self._heap)
                    entry = self._table(slot.kind).get(slot.ref)
                    if entry is None or entry.due != slot.due:
                        continue  # deleted or rescheduled since
                    entry.due = None
                    if entry.running:
                        entry.rerun = True
                        continue
                    entry.running = True
                    task = asyncio.create_task(self._run(entry, slot.due))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                delay = 30.0
                if self._heap:
                    delay = min(delay, max(0.0, (self._heap[0].due - now).total_seconds()))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
        finally:
            for task in self._tasks:
                task.cancel()

    def _schedule(self, entry: _Entry, due: datetime) -> None:
        if entry.running:
            entry.rerun = True
            return
        if entry.due is not None and entry.due <= due:
            return
        entry.due = due
        self._seq += 1
        heapq.heappush(self._heap, _Slot(due, self._seq, entry.kind, entry.ref))
        self._wake.set()

    async def _run(self, entry: _Entry, scheduled: datetime) -> None:
        next_due: datetime | None = None
        try:
            async with self._source_slot(entry), self._limit:
                if entry.spec is None:
                    await self._settle_invalid(entry)
                elif entry.kind == "KeyResult":
                    next_due = await self._key_result(entry, scheduled)
                else:
                    next_due = await self._objective(entry)
        except asyncio.CancelledError:
            raise
        except Exception:
            # One object's failure must not stop the engine or its neighbours;
            # the object is tried again a minute later.
            log.exception("Evaluation failed", extra={"object": f"{entry.kind} {entry.ref}"})
            next_due = self._clock.now() + timedelta(minutes=1)
        finally:
            entry.running = False
        # Only here, with running cleared: scheduling from inside the evaluation
        # would read as "changed meanwhile, run again now" and never rest.
        if self._table(entry.kind).get(entry.ref) is not entry:
            return
        if entry.rerun:
            entry.rerun = False
            self._schedule(entry, self._clock.now())
        elif next_due is not None:
            self._schedule(entry, next_due)

    def _source_slot(self, entry: _Entry) -> contextlib.AbstractAsyncContextManager[object]:
        # Taken before a global slot: key results waiting for a busy source
        # must not hold the slots that key results of other sources need.
        if isinstance(entry.spec, KeyResult):
            return self._resolver.slot(entry.ref.namespace, entry.spec.source)
        return contextlib.nullcontext()

    async def _settle_invalid(self, entry: _Entry) -> None:
        # Nothing to evaluate until the spec is fixed (a new generation).
        problem = Problem(Reason.INVALID_SPEC, entry.invalid or "invalid spec")
        now = self._clock.now()
        status = problem_status(entry.status, problem, generation=entry.generation, now=now)
        await self._settle(entry, status)

    # ----- key results ------------------------------------------------------

    async def _key_result(self, entry: _Entry, scheduled: datetime) -> datetime | None:
        """Evaluate one key result; return when it is due next (None: never)."""
        now = self._clock.now()
        lateness = max(0.0, (now - scheduled).total_seconds())
        started = time.monotonic()
        previous = entry.status
        if not isinstance(previous, KeyResultStatus):
            raise TypeError(f"{entry.ref}: a KeyResult entry holds {previous!r}")
        kr = entry.spec
        if not isinstance(kr, KeyResult):
            raise TypeError(f"{entry.ref}: a KeyResult entry holds {kr!r}")
        period = self._period_of(kr)
        if isinstance(period, Problem):
            status = problem_status(previous, period, generation=kr.generation, now=now)
            result = "reference_not_found"
            next_due: datetime | None = now + kr.interval
        else:
            querier = await self._resolver.resolve(kr.ref.namespace, kr.source)
            outcome = await evaluate_key_result(kr, period, previous, querier=querier, now=now)
            status, result = outcome.status, outcome.result
            next_due = self._next_key_result_due(kr, period, result, now)
        if self._key_results.get(entry.ref) is not entry:
            return None  # deleted while its query ran: its series must stay dropped
        self._observer.key_result_evaluated(
            kr,
            period if isinstance(period, Period) else kr.period,
            status,
            result=result,
            seconds=time.monotonic() - started,
            lateness=lateness,
        )
        await self._settle(entry, status)
        if (status.progress, status.health) != (previous.progress, previous.health):
            self._touch_objective(Ref(kr.ref.namespace, kr.objective))
        return next_due

    def _period_of(self, kr: KeyResult) -> Period | Problem:
        # A key result needs its objective even with a period of its own: the
        # objectiveRef is what places it in the alignment map.
        objective = self._objectives.get(Ref(kr.ref.namespace, kr.objective))
        if objective is None or not isinstance(objective.spec, Objective):
            what = "not found" if objective is None else "has an invalid spec"
            return Problem(
                Reason.REFERENCE_NOT_FOUND,
                f"Objective {kr.ref.namespace}/{kr.objective} (spec.objectiveRef) {what}",
            )
        return kr.period or objective.spec.period

    def _next_key_result_due(
        self, kr: KeyResult, period: Period, result: str, now: datetime
    ) -> datetime | None:
        if result == "frozen":
            return None  # the period is over; only a spec change wakes it again
        if result == "pending":
            return min(period.start, now + kr.interval)
        return now + kr.interval

    # ----- objectives -------------------------------------------------------

    def _touch_objective(self, ref: Ref) -> None:
        entry = self._objectives.get(ref)
        if entry is not None:
            self._schedule(entry, self._clock.now())

    async def _objective(self, entry: _Entry) -> datetime | None:
        """Roll one objective up; return when it is due next."""
        now = self._clock.now()
        previous = entry.status
        if not isinstance(previous, ObjectiveStatus):
            raise TypeError(f"{entry.ref}: an Objective entry holds {previous!r}")
        obj = entry.spec
        if not isinstance(obj, Objective):
            raise TypeError(f"{entry.ref}: an Objective entry holds {obj!r}")
        problem = self._parent_problem(obj)
        key_results = [
            Member("KeyResult", e.ref, e.spec.weight, e.status.progress, e.status.health)
            for e in self._key_results.values()
            if isinstance(e.spec, KeyResult)
            and e.ref.namespace == obj.ref.namespace
            and e.spec.objective == obj.ref.name
        ]
        children = [
            Member("Objective", e.ref, e.spec.weight, e.status.progress, e.status.health)
            for e in self._children_of(obj.ref)
            if isinstance(e.spec, Objective)
        ]
        status = objective_status(
            obj, previous, key_results=key_results, children=children, problem=problem, now=now
        )
        if self._objectives.get(entry.ref) is not entry:
            return None  # deleted while it waited for its turn
        self._observer.objective_evaluated(obj, status)
        await self._settle(entry, status)
        changed = (status.progress, status.health) != (previous.progress, previous.health)
        if (
            changed
            and obj.parent is not None
            and (problem is None or problem.reason != Reason.CYCLE_DETECTED)
        ):
            self._touch_objective(obj.parent)
        return now + self._objective_interval

    def _parent_problem(self, obj: Objective) -> Problem | None:
        if obj.parent is None:
            return None
        cycle = find_cycle(obj.ref, self._parent_ref)
        if cycle is not None:
            return Problem(
                Reason.CYCLE_DETECTED, f"spec.parentRef forms a cycle: {describe_cycle(cycle)}"
            )
        if obj.parent not in self._objectives:
            return Problem(
                Reason.REFERENCE_NOT_FOUND,
                f"parent Objective {obj.parent} (spec.parentRef) not found",
            )
        return None

    def _parent_ref(self, ref: Ref) -> Ref | None:
        entry = self._objectives.get(ref)
        return (
            entry.spec.parent if entry is not None and isinstance(entry.spec, Objective) else None
        )

    def _children_of(self, ref: Ref) -> list[_Entry]:
        return [
            e
            for e in self._objectives.values()
            if isinstance(e.spec, Objective) and e.spec.parent == ref and e.ref != ref
        ]

    # ----- writes and events ------------------------------------------------

    async def _settle(self, entry: _Entry, status: KeyResultStatus | ObjectiveStatus) -> None:
        """Keep ``status`` in memory; write it and post an Event when due."""
        previous = entry.status
        entry.status = status
        now = self._clock.now()
        self._log_change(entry, previous, status)
        if transition(previous.health, status.health) and status.health is not None:
            await self._events.post(
                kind=entry.kind,
                ref=entry.ref,
                uid=entry.uid,
                type_="Warning" if status.health in _BAD_HEALTH else "Normal",
                reason="HealthChanged",
                message=describe_transition(
                    previous.health, status.health, status.progress, status.expected_progress
                ),
            )
        written = entry.written
        if isinstance(status, KeyResultStatus):
            urgent = needs_write_now(
                written if isinstance(written, KeyResultStatus) else None, status
            )
        else:
            urgent = needs_write_now(
                written if isinstance(written, ObjectiveStatus) else None, status
            )
        if not (urgent or write_due(entry.last_write, now, self._status_interval)):
            return
        try:
            if isinstance(status, KeyResultStatus):
                await self._writer.write_key_result(entry.ref, status)
            else:
                await self._writer.write_objective(entry.ref, status)
        except LookupError:
            log.info(
                "Object was deleted before its status write",
                extra={"object": f"{entry.kind} {entry.ref}"},
            )
            return
        entry.written = status
        entry.last_write = now
        self._observer.status_written(entry.kind)

    def _log_change(
        self,
        entry: _Entry,
        previous: KeyResultStatus | ObjectiveStatus,
        status: KeyResultStatus | ObjectiveStatus,
    ) -> None:
        # One line per change a user would act on, not one per evaluation.
        old = {c.type: (c.status, c.reason) for c in previous.conditions}
        for cond in status.conditions:
            if old.get(cond.type) != (cond.status, cond.reason):
                level = logging.INFO if cond.status == "True" else logging.WARNING
                log.log(
                    level,
                    f"{cond.type} is {cond.status}",
                    extra={
                        "object": f"{entry.kind} {entry.ref}",
                        "reason": cond.reason,
                        "detail": cond.message,
                    },
                )
        if previous.health != status.health:
            log.info(
                "Health changed",
                extra={
                    "object": f"{entry.kind} {entry.ref}",
                    "from": str(previous.health),
                    "to": str(status.health),
                    "progress": status.progress,
                    "expected": status.expected_progress,
                },
            )

    # ----- helpers ----------------------------------------------------------

    def _table(self, kind: Kind) -> dict[Ref, _Entry]:
        return self._key_results if kind == "KeyResult" else self._objectives

    def _upsert(
        self,
        kind: Kind,
        ref: Ref,
        *,
        uid: str,
        generation: int,
        spec: KeyResult | Objective | None,
        invalid: str | None,
        status: KeyResultStatus | ObjectiveStatus,
    ) -> None:
        table = self._table(kind)
        entry = table.get(ref)
        now = self._clock.now()
        if entry is None or entry.uid != uid:
            # First sight (operator start, or a new object): resume from the
            # status already on the object, so a restart neither resets health
            # nor re-posts Events, and evaluations resume at their cadence.
            entry = _Entry(
                kind=kind,
                ref=ref,
                uid=uid,
                generation=generation,
                spec=spec,
                invalid=invalid,
                status=status,
                written=status if status.observed_generation is not None else None,
                last_write=status.last_evaluation_time,
            )
            table[ref] = entry
            due = now
            interval = spec.interval if isinstance(spec, KeyResult) else self._objective_interval
            last = status.last_evaluation_time
            if status.observed_generation == generation and last is not None:
                due = max(now, last + interval)
                self._restore_metrics(entry)
            self._schedule(entry, due)
            return
        old_spec = entry.spec
        entry.spec, entry.invalid = spec, invalid
        if generation != entry.generation or old_spec != spec:
            entry.generation = generation
            self._schedule(entry, now)
        # A member that moved leaves its old objective, which must recount.
        if (
            isinstance(old_spec, KeyResult)
            and isinstance(spec, KeyResult)
            and old_spec.objective != spec.objective
        ):
            self._touch_objective(Ref(ref.namespace, old_spec.objective))
        if (
            isinstance(old_spec, Objective)
            and isinstance(spec, Objective)
            and old_spec.parent not in (spec.parent, None)
        ):
            self._touch_objective(old_spec.parent)
