"""The key-result use case: find its period and source, evaluate, settle, wake its objective."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from okr_operator.domain.checkins import apply_check_ins, dropped_from
from okr_operator.domain.model import (
    CarriedFrom,
    Commitment,
    KeyResult,
    KeyResultStatus,
    OwnerCheckIn,
    Period,
    Problem,
    Reason,
    Ref,
)
from okr_operator.services.evaluate import evaluate_key_result
from okr_operator.services.flights import Flights
from okr_operator.services.ports import ApiUnavailableError, Clock, Observer, QuerierResolver
from okr_operator.services.problems import problem_status
from okr_operator.services.publisher import Publisher
from okr_operator.services.registry import KeyResultEntry, Registry
from okr_operator.services.results import Result
from okr_operator.services.scheduler import next_slot

# Manual key results query nothing; their evaluation never reads this.
_NO_QUERIER = Problem(Reason.INVALID_SPEC, "a manual key result has no query")

# The write interval of a key result whose spec is invalid (so it has no
# interval of its own): the default of spec.interval.
_DEFAULT_INTERVAL = timedelta(minutes=1)
# When an evaluation that could not read its source's Secret is tried again.
_UNAVAILABLE_RETRY = timedelta(seconds=5)
log = logging.getLogger("okr_operator.engine")


class KeyResults:
    """Evaluates one key result at a time; the scheduler decides when."""

    def __init__(
        self,
        *,
        registry: Registry,
        resolver: QuerierResolver,
        flights: Flights,
        publisher: Publisher,
        observer: Observer,
        clock: Clock,
        touch: Callable[[Ref], None],
    ) -> None:
        self._registry = registry
        self._resolver = resolver
        self._flights = flights
        self._publisher = publisher
        self._observer = observer
        self._clock = clock
        self._touch = touch

    async def evaluate(self, entry: KeyResultEntry, scheduled: datetime) -> datetime | None:
        """Evaluate ``entry``; return when it is due next (None: not until it changes)."""
        # Whole seconds: the status shows seconds, and identical queries of one
        # second then share one request (single flight).
        moment = self._clock.now()
        now = moment.replace(microsecond=0)
        lateness = max(0.0, (moment - scheduled).total_seconds())
        started = time.monotonic()
        kr = entry.spec
        previous = entry.status
        if kr is None:
            invalid = Problem(Reason.INVALID_SPEC, entry.invalid or "invalid spec")
            status = problem_status(previous, invalid, generation=entry.generation, now=now)
            await self._publisher.key_result(entry, status, _DEFAULT_INTERVAL)
            return None  # nothing to evaluate until the spec is fixed
        period = self.period_of(kr)
        check_ins = self.check_ins_of(entry)
        if isinstance(period, Problem):
            status = problem_status(previous, period, generation=kr.generation, now=now)
            result = Result.REFERENCE_NOT_FOUND
            next_due: datetime | None = next_slot(entry.uid, kr.interval, moment)
        else:
            kr = self._inherited(kr)
            if kr.manual:
                outcome = await evaluate_key_result(
                    kr, period, previous, querier=_NO_QUERIER, now=now, check_ins=check_ins
                )
            else:
                try:
                    querier = await self._resolver.resolve(kr.ref.namespace, kr.source)
                except ApiUnavailableError as err:
                    # Not the key result's fault: write nothing, try again soon.
                    log.warning(
                        "Cannot read what the source needs; retrying",
                        extra={"object": f"{entry.kind} {entry.ref}", "error": str(err)},
                    )
                    return moment + _UNAVAILABLE_RETRY
                shared = querier if isinstance(querier, Problem) else self._flights.share(querier)
                outcome = await evaluate_key_result(kr, period, previous, querier=shared, now=now)
            status, result = outcome.status, outcome.result
            next_due = self._next_due(entry, kr, period, result, moment)
        status = self._with_check_ins(kr, status, check_ins, period, now)
        # The commitment in force, for kubectl, the metrics' info line and CommittedMissed.
        status = replace(
            status,
            commitment=kr.commitment or Commitment.COMMITTED,
            carried_from=self._carried_from(kr),
        )
        if self._registry.key_result(entry.ref) is not entry:
            return None  # deleted while its query ran: its series must stay dropped
        before = dropped_from(previous.check_in, status.check_in, check_ins)
        await self._publisher.key_result(entry, status, kr.interval, dropped_from=before)
        if self._registry.key_result(entry.ref) is not entry:
            return None  # deleted during its write
        self._observer.key_result_evaluated(
            self._registry.key_result_view(entry),
            result=result,
            seconds=time.monotonic() - started,
            lateness=lateness,
        )
        objective = entry.objective
        if objective is not None and (status.progress, status.health, status.forecast) != (
            previous.progress,
            previous.health,
            previous.forecast,
        ):
            self._touch(objective)
        return next_due

    def check_ins_of(self, entry: KeyResultEntry) -> list[OwnerCheckIn]:
        """The valid CheckIns naming ``entry``."""
        return [c.spec for c in self._registry.check_ins_of(entry.ref) if c.spec is not None]

    def _with_check_ins(
        self,
        kr: KeyResult,
        status: KeyResultStatus,
        check_ins: list[OwnerCheckIn],
        period: Period | Problem,
        now: datetime,
    ) -> KeyResultStatus:
        objective = self._registry.objective(Ref(kr.ref.namespace, kr.objective))
        inherited = objective.spec.check_in_every if objective and objective.spec else None
        return apply_check_ins(
            status,
            check_ins,
            every=kr.check_in_every or inherited,
            period=None if isinstance(period, Problem) else period,
            now=now,
        )

    def period_of(self, kr: KeyResult) -> Period | Problem:
        """The period ``kr`` is evaluated in, or why there is none."""
        # A key result needs its objective even with a period of its own: the
        # objectiveRef is what places it in the alignment map.
        ref = Ref(kr.ref.namespace, kr.objective)
        objective = self._registry.objective(ref)
        if objective is None or objective.spec is None:
            what = "not found" if objective is None else "has an invalid spec"
            return Problem(
                Reason.REFERENCE_NOT_FOUND, f"Objective {ref} (spec.objectiveRef) {what}"
            )
        return kr.period or objective.spec.period

    def _inherited(self, kr: KeyResult) -> KeyResult:
        """``kr`` with its objective's commitment when it sets none (period_of found it)."""
        if kr.commitment is not None:
            return kr
        objective = self._registry.objective(Ref(kr.ref.namespace, kr.objective))
        spec = objective.spec if objective is not None else None
        return replace(kr, commitment=spec.commitment if spec is not None else None)

    def _carried_from(self, kr: KeyResult) -> CarriedFrom | None:
        """``status.carriedFrom``: the named key result with its grade (None until graded)."""
        if kr.carried_from is None:
            return None
        earlier = self._registry.key_result(kr.carried_from)
        grade = earlier.status.grade if earlier is not None else None
        return CarriedFrom(kr.carried_from.namespace, kr.carried_from.name, grade)

    @staticmethod
    def _next_due(
        entry: KeyResultEntry, kr: KeyResult, period: Period, result: Result, moment: datetime
    ) -> datetime | None:
        if result is Result.FROZEN:
            return None  # the period is over; only a spec change wakes it again
        slot = next_slot(entry.uid, kr.interval, moment)
        if result is Result.PENDING:
            return min(period.start, slot)
        return slot
