"""The evaluation engine: the watches' objects in, statuses, Events and metrics out.

kopf's watches feed the engine the objects (``upsert_*``/``remove_*``). The
pieces each hold one thing:

- ``registry``: every object's spec and status, and the indexes of the
  alignment map (an objective's key results and children);
- ``scheduler``: when each object runs, on a grid spread by its uid;
- ``key_results`` / ``objectives``: the two use cases, evaluate and roll up;
- ``publisher``: the status patches (``domain.writes``), Events and log lines;
- ``flights``: identical queries of one second sent once.

This module wires them together and keeps the rules of arrival and departure:
a restored object resumes on its grid without a query or a write, a member
that moves or leaves makes its objectives recount, and nothing is evaluated
until the watches have listed every kind, so an objective is never rolled up
before its key results are known (a restart then writes nothing and posts no
Event).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from okr_operator.domain.checkins import check_in_condition
from okr_operator.domain.conditions import get_condition, set_conditions
from okr_operator.domain.model import (
    Condition,
    ConditionStatus,
    ConditionType,
    KeyResult,
    KeyResultStatus,
    Objective,
    ObjectiveStatus,
    OwnerCheckIn,
    Reason,
    Ref,
)
from okr_operator.domain.snapshot import Snapshot
from okr_operator.services.flights import Flights
from okr_operator.services.key_results import KeyResults
from okr_operator.services.kinds import Kind
from okr_operator.services.objectives import Objectives
from okr_operator.services.ports import (
    Clock,
    EventSink,
    Observer,
    QuerierResolver,
    StatusWriter,
    WriteFailedError,
)
from okr_operator.services.publisher import Publisher
from okr_operator.services.registry import (
    CheckInEntry,
    KeyResultEntry,
    ObjectiveEntry,
    Registry,
    Written,
)
from okr_operator.services.scheduler import Scheduler, next_slot

S = TypeVar("S", KeyResultStatus, ObjectiveStatus)
log = logging.getLogger("okr_operator.engine")

# Members changing one after another wake their objective at most this often.
TOUCH_GAP = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Job:
    """One thing the scheduler runs: an evaluation, or a deferred status write."""

    kind: Kind
    ref: Ref
    flush: bool = False

    def __str__(self) -> str:
        return f"{self.kind} {self.ref}" + (" (status write)" if self.flush else "")


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
        objective_interval: timedelta = timedelta(seconds=10),
        concurrency: int = 32,
        listing_timeout: timedelta | None = None,
    ) -> None:
        self._observer = observer
        self._clock = clock
        self._writer = writer
        self._listing_timeout = listing_timeout
        self._registry = Registry()
        self._resolver = resolver
        self._limit = asyncio.Semaphore(concurrency)
        self._scheduler: Scheduler[Job] = Scheduler(self._run_one, clock=clock)
        self.flights = Flights(clock)
        self._publisher = Publisher(
            writer=writer,
            events=events,
            observer=observer,
            clock=clock,
            status_interval=status_interval,
            defer=lambda kind, ref, at: self._scheduler.schedule(Job(kind, ref, flush=True), at),
        )
        self._key_results = KeyResults(
            registry=self._registry,
            resolver=resolver,
            flights=self.flights,
            publisher=self._publisher,
            observer=observer,
            clock=clock,
            touch=self._touch,
        )
        self._objectives = Objectives(
            registry=self._registry,
            publisher=self._publisher,
            observer=observer,
            clock=clock,
            interval=objective_interval,
            touch=self._touch,
        )

    # ----- inputs from the watches ------------------------------------------

    def upsert_key_result(
        self,
        ref: Ref,
        *,
        uid: str,
        generation: int,
        spec: KeyResult | None,
        invalid: str | None,
        status: KeyResultStatus,
    ) -> None:
        """Add or update a KeyResult; a new generation is evaluated at once.

        ``spec`` is None when it did not parse; ``invalid`` then says why.
        """
        entry = self._registry.key_result(ref)
        if entry is None or entry.uid != uid:
            if entry is not None:
                self.remove_key_result(ref)  # recreated under the same name
            entry = KeyResultEntry(ref, uid, generation, spec, invalid, status, _written(status))
            self._registry.put_key_result(entry)
            interval = spec.interval if spec is not None else None
            self._schedule(
                Job(Kind.KEY_RESULT, ref), self._resume(uid, interval, generation, status)
            )
            if status.observed_generation is not None:
                self._observer.key_result_changed(self._registry.key_result_view(entry))
            if entry.objective is not None:
                self._touch(entry.objective)
            self._recheck_check_ins(ref)
            return
        old_objective = entry.objective
        changed = generation != entry.generation or entry.spec != spec
        entry.generation = generation
        self._registry.set_key_result_spec(entry, spec, invalid)
        if changed:
            self._schedule(Job(Kind.KEY_RESULT, ref), self._clock.now())
            self._observer.key_result_changed(self._registry.key_result_view(entry))
            self._recheck_check_ins(ref)
        if old_objective != entry.objective:
            # A member that moved leaves its old objective, which must recount,
            # and joins the new one even if its own numbers stay the same.
            for objective in (old_objective, entry.objective):
                if objective is not None:
                    self._touch(objective)

    def upsert_objective(
        self,
        ref: Ref,
        *,
        uid: str,
        generation: int,
        spec: Objective | None,
        invalid: str | None,
        status: ObjectiveStatus,
    ) -> None:
        """Add or update an Objective; a new generation is rolled up at once."""
        entry = self._registry.objective(ref)
        if entry is None or entry.uid != uid:
            if entry is not None:
                self.remove_objective(ref)
            entry = ObjectiveEntry(ref, uid, generation, spec, invalid, status, _written(status))
            self._registry.put_objective(entry)
            interval = self._objectives.interval
            self._schedule(
                Job(Kind.OBJECTIVE, ref), self._resume(uid, interval, generation, status)
            )
            if status.observed_generation is not None:
                self._observer.objective_changed(self._registry.objective_view(entry))
            self._arrived(entry, new=True)
            return
        old_parent, old_period = entry.parent, entry.spec.period if entry.spec else None
        changed = generation != entry.generation or entry.spec != spec
        entry.generation = generation
        self._registry.set_objective_spec(entry, spec, invalid)
        if changed:
            self._schedule(Job(Kind.OBJECTIVE, ref), self._clock.now())
            self._observer.objective_changed(self._registry.objective_view(entry))
            new_period = spec.period if spec else None
            if new_period != old_period:
                self._arrived(entry, new=False)
        if old_parent != entry.parent:
            for parent in (old_parent, entry.parent):
                if parent is not None:
                    self._touch(parent)

    def remove_key_result(self, ref: Ref) -> None:
        """Forget a deleted KeyResult and drop its metrics."""
        entry = self._registry.remove_key_result(ref)
        if entry is None:
            return
        self._forget(Kind.KEY_RESULT, ref)
        self._observer.key_result_removed(ref)
        if entry.objective is not None:
            self._touch(entry.objective)
        self._recheck_check_ins(ref)

    def upsert_check_in(
        self,
        ref: Ref,
        *,
        uid: str,
        generation: int,
        spec: OwnerCheckIn | None,
        invalid: str | None,
        conditions: tuple[Condition, ...],
    ) -> None:
        """Add or update a CheckIn: its key result takes it in at once.

        A CheckIn read back after a restart with a condition for its generation
        was taken in before (its key result's status says so): nothing runs.
        """
        entry = self._registry.check_in(ref)
        old_key_result: Ref | None = None
        if entry is None or entry.uid != uid:
            if entry is not None:
                self.remove_check_in(ref)
            restored = bool(conditions) and all(
                c.observed_generation == generation for c in conditions
            )
            entry = CheckInEntry(
                ref, uid, generation, spec, invalid, conditions, conditions if restored else None
            )
            self._registry.put_check_in(entry)
            self._schedule(Job(Kind.CHECK_IN, ref), self._clock.now())
            if restored:
                return
        else:
            if generation == entry.generation and entry.spec == spec:
                return
            old_key_result = entry.key_result
            entry.generation = generation
            self._registry.set_check_in_spec(entry, spec, invalid)
            self._schedule(Job(Kind.CHECK_IN, ref), self._clock.now())
        self._wake_key_results(old_key_result, entry.key_result)

    def remove_check_in(self, ref: Ref) -> None:
        """Forget a deleted CheckIn; its key result falls back to the one before."""
        entry = self._registry.remove_check_in(ref)
        if entry is None:
            return
        self._forget(Kind.CHECK_IN, ref)
        self._wake_key_results(entry.key_result)

    def _wake_key_results(self, *refs: Ref | None) -> None:
        now = self._clock.now()
        for ref in dict.fromkeys(refs):
            if ref is not None and self._registry.key_result(ref) is not None:
                self._schedule(Job(Kind.KEY_RESULT, ref), now)

    def _recheck_check_ins(self, key_result: Ref) -> None:
        now = self._clock.now()
        for check_in in self._registry.check_ins_of(key_result):
            self._schedule(Job(Kind.CHECK_IN, check_in.ref), now)

    def remove_objective(self, ref: Ref) -> None:
        """Forget a deleted Objective; its members and children report it missing."""
        entry = self._registry.remove_objective(ref)
        if entry is None:
            return
        self._forget(Kind.OBJECTIVE, ref)
        self._observer.objective_removed(ref)
        if entry.parent is not None:
            self._touch(entry.parent)
        now = self._clock.now()
        for member in self._registry.members(ref):
            self._schedule(Job(Kind.KEY_RESULT, member.ref), now)
        for child in self._registry.children(ref):
            self._schedule(Job(Kind.OBJECTIVE, child.ref), now)

    def listed(self) -> None:
        """The watches have listed every kind: evaluations may start."""
        self._scheduler.start()

    # ----- outputs ----------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether evaluations have started (every kind listed, state restored)."""
        return self._scheduler.started

    def counts(self) -> dict[str, int]:
        """Sizes for the liveness probe."""
        return {**self._registry.counts(), "running": self._scheduler.running()}

    def snapshot(self) -> Snapshot:
        """A read-only view of every object's spec, period and status."""
        return self._registry.snapshot()

    @property
    def last_loop(self) -> float:
        """``time.monotonic()`` of the scheduler loop's last turn (for liveness)."""
        return self._scheduler.last_loop

    async def run(self) -> None:
        """Run until cancelled."""
        timeout = self._listing_timeout
        await self._scheduler.run(
            start_after=timeout.total_seconds() if timeout is not None else None
        )

    # ----- internals --------------------------------------------------------

    async def _run_one(self, job: Job, scheduled: datetime) -> datetime | None:
        # The source's slot before a global one: key results waiting for a busy
        # source must not hold the slots that key results of other sources need.
        if job.kind is Kind.CHECK_IN:
            async with self._limit:
                return await self._settle_check_in(job.ref)
        async with self._source_slot(job), self._limit:
            return await self._run_job(job, scheduled)

    def _source_slot(self, job: Job) -> contextlib.AbstractAsyncContextManager[object]:
        entry = self._registry.key_result(job.ref) if job.kind is Kind.KEY_RESULT else None
        if entry is None or entry.spec is None or job.flush:
            return contextlib.nullcontext()
        return self._resolver.slot(job.ref.namespace, entry.spec.source)

    async def _run_job(self, job: Job, scheduled: datetime) -> datetime | None:
        if job.kind is Kind.KEY_RESULT:
            key_result = self._registry.key_result(job.ref)
            if key_result is None:
                return None
            if job.flush:
                interval = key_result.spec.interval if key_result.spec else None
                await self._publisher.flush_key_result(key_result, interval or _MINUTE)
                return None
            return await self._key_results.evaluate(key_result, scheduled)
        objective = self._registry.objective(job.ref)
        if objective is None:
            return None
        if job.flush:
            await self._publisher.flush_objective(objective, self._objectives.interval)
            return None
        return await self._objectives.roll_up(objective)

    async def _settle_check_in(self, ref: Ref) -> datetime | None:
        """A CheckIn's own Ready condition; written only when it changed.

        Returns when to try again if the write failed.
        """
        entry = self._registry.check_in(ref)
        if entry is None:
            return None
        now = self._clock.now().replace(microsecond=0)
        if entry.spec is None:
            ready = (ConditionStatus.FALSE, str(Reason.INVALID_SPEC), entry.invalid or "")
        else:
            key_result = self._registry.key_result(Ref(entry.ref.namespace, entry.spec.key_result))
            ready = check_in_condition(
                entry.spec,
                key_result.spec if key_result is not None else None,
                known=key_result is not None,
            )
        conditions = set_conditions(
            entry.conditions, {ConditionType.READY: ready}, now=now, generation=entry.generation
        )
        entry.conditions = conditions
        if entry.written == conditions:
            return None
        try:
            await self._writer.write_check_in(entry.ref, conditions, entry.generation)
        except LookupError:
            log.info(
                "Object was deleted before its status write",
                extra={"object": f"{entry.kind} {entry.ref}"},
            )
            return None
        except WriteFailedError as err:
            log.warning(
                "Status write failed; retrying",
                extra={"object": f"{entry.kind} {entry.ref}", "error": str(err)},
            )
            return now + CHECK_IN_RETRY
        entry.written = conditions
        self._observer.status_written(entry.kind)
        return None

    def _schedule(self, job: Job, due: datetime) -> None:
        self._scheduler.schedule(job, due)

    def _forget(self, kind: Kind, ref: Ref) -> None:
        self._scheduler.forget(Job(kind, ref))
        self._scheduler.forget(Job(kind, ref, flush=True))

    def _touch(self, ref: Ref) -> None:
        """A member of objective ``ref`` changed: roll it up soon."""
        entry = self._registry.objective(ref)
        if entry is None:
            return
        due = self._clock.now()
        last = entry.status.last_evaluation_time
        if last is not None:
            due = max(due, last + min(TOUCH_GAP, self._objectives.interval))
        self._schedule(Job(Kind.OBJECTIVE, ref), due)

    def _resume(
        self,
        uid: str,
        interval: timedelta | None,
        generation: int,
        status: KeyResultStatus | ObjectiveStatus,
    ) -> datetime:
        """When a newly seen object runs first.

        A new object (or one whose spec changed since its status was written)
        runs at once; an object read back after a restart resumes at its next
        grid slot, so a restart sends no query and the phases stay spread.
        """
        now = self._clock.now()
        last = status.last_evaluation_time
        if interval is None or last is None or status.observed_generation != generation:
            return now
        due = next_slot(uid, interval, last)
        return due if due > now else next_slot(uid, interval, now)

    def _arrived(self, entry: ObjectiveEntry, *, new: bool) -> None:
        """An objective appeared or changed period: tell those that were waiting for it."""
        now = self._clock.now()
        for member in self._registry.members(entry.ref):
            if _waiting_for_a_reference(member.status):
                self._schedule(Job(Kind.KEY_RESULT, member.ref), now)
            elif member.spec is not None and member.spec.period is None:
                # Its inherited period is known (or different) now: in /metrics
                # at once, and evaluated in the new period if it changed.
                self._observer.key_result_changed(self._registry.key_result_view(member))
                if not new:
                    self._schedule(Job(Kind.KEY_RESULT, member.ref), now)
        for child in self._registry.children(entry.ref):
            if _waiting_for_a_reference(child.status):
                self._schedule(Job(Kind.OBJECTIVE, child.ref), now)


_MINUTE = timedelta(minutes=1)
# When a CheckIn's refused status write is tried again.
CHECK_IN_RETRY = timedelta(seconds=5)


def _written(status: S) -> Written[S]:
    # What the object already carries was written by us (or a predecessor):
    # a restart compares against it and writes nothing new.
    if status.observed_generation is None:
        return Written()
    return Written(status, status.last_evaluation_time)


def _waiting_for_a_reference(status: KeyResultStatus | ObjectiveStatus) -> bool:
    ready = get_condition(status.conditions, ConditionType.READY)
    return ready is not None and ready.reason == Reason.REFERENCE_NOT_FOUND
