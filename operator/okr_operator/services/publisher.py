"""What users see of an evaluation: the status patch, Events and log lines.

A new status always replaces the registry's at once (metrics and the web view
read that); what reaches the API server follows ``domain.writes``: a visible
change is patched at the first chance that keeps one write per interval, a
write that has to wait is deferred to a flush, and an unchanged status is
refreshed once per ``status_interval``. Events are posted on real transitions
only, so a restart that reads the same status back posts none.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from okr_operator.domain.checkins import describe_drop
from okr_operator.domain.conditions import get_condition
from okr_operator.domain.evaluation import transition
from okr_operator.domain.health import describe_transition
from okr_operator.domain.model import (
    Commitment,
    Condition,
    ConditionStatus,
    ConditionType,
    Health,
    KeyResultStatus,
    LatestCheckIn,
    ObjectiveStatus,
    Ref,
)
from okr_operator.domain.writes import next_write
from okr_operator.services.kinds import Kind
from okr_operator.services.ports import (
    Clock,
    EventSink,
    Observer,
    StatusWriter,
    WriteFailedError,
)
from okr_operator.services.registry import KeyResultEntry, ObjectiveEntry, Written

log = logging.getLogger("okr_operator.engine")

# The backoff of a status write that failed: first retry, and the longest wait.
RETRY_FIRST = timedelta(seconds=1)
RETRY_MAX = timedelta(seconds=30)
_BAD_HEALTH = {Health.OFF_TRACK, Health.MISSED, Health.UNKNOWN}
S = TypeVar("S", KeyResultStatus, ObjectiveStatus)
Defer = Callable[[Kind, Ref, datetime], None]


class Publisher:
    """Settles new statuses: registry first, then Events, logs and (maybe) a patch."""

    def __init__(
        self,
        *,
        writer: StatusWriter,
        events: EventSink,
        observer: Observer,
        clock: Clock,
        status_interval: timedelta,
        defer: Defer,
    ) -> None:
        self._writer = writer
        self._events = events
        self._observer = observer
        self._clock = clock
        self._status_interval = status_interval
        self._defer = defer

    async def key_result(
        self,
        entry: KeyResultEntry,
        status: KeyResultStatus,
        interval: timedelta,
        *,
        dropped_from: LatestCheckIn | None = None,
    ) -> None:
        """Make ``status`` the key result's; post, log and write what is due.

        ``dropped_from`` is the check-in the new ``status.checkIn`` fell from by
        ``domain.checkins.DROP`` or more (a ConfidenceDropped Event), if any.
        """
        previous, entry.status = entry.status, status
        await self._announce(entry.kind, entry.ref, entry.uid, previous, status)
        await self._evaluation_failed(entry, previous, status)
        if dropped_from is not None and status.check_in is not None:
            await self._confidence_dropped(entry, dropped_from, status.check_in)
        await self._maybe_write(
            entry, entry.written, status, interval, self._writer.write_key_result
        )

    async def objective(
        self, entry: ObjectiveEntry, status: ObjectiveStatus, interval: timedelta
    ) -> None:
        """Make ``status`` the objective's; post, log and write what is due."""
        previous, entry.status = entry.status, status
        await self._announce(entry.kind, entry.ref, entry.uid, previous, status)
        await self._maybe_write(
            entry, entry.written, status, interval, self._writer.write_objective
        )

    async def flush_key_result(self, entry: KeyResultEntry, interval: timedelta) -> None:
        """Write a deferred key-result status if it is still worth a write."""
        await self._maybe_write(
            entry, entry.written, entry.status, interval, self._writer.write_key_result
        )

    async def flush_objective(self, entry: ObjectiveEntry, interval: timedelta) -> None:
        """Write a deferred objective status if it is still worth a write."""
        await self._maybe_write(
            entry, entry.written, entry.status, interval, self._writer.write_objective
        )

    # ----- writes -----------------------------------------------------------

    async def _maybe_write(
        self,
        entry: KeyResultEntry | ObjectiveEntry,
        written: Written[S],
        status: S,
        interval: timedelta,
        write: Callable[[Ref, S], Awaitable[None]],
    ) -> None:
        now = self._clock.now()
        at = next_write(
            written.status,
            status,
            last_write=written.at,
            now=now,
            interval=interval,
            status_interval=self._status_interval,
        )
        if at is None:
            return
        if at > now:
            self._defer(entry.kind, entry.ref, at)
            return
        try:
            await write(entry.ref, status)
        except LookupError:
            log.info(
                "Object was deleted before its status write",
                extra={"object": f"{entry.kind} {entry.ref}"},
            )
            return
        except WriteFailedError as err:
            # Not the object's fault, and not worth a whole interval: try again
            # soon (1 s, 2 s, 4 s ... at most 30 s) while evaluations go on.
            delay = min(RETRY_FIRST * 2**written.failures, RETRY_MAX)
            written.failures += 1
            if written.failures == 1:
                log.warning(
                    "Status write failed; retrying",
                    extra={"object": f"{entry.kind} {entry.ref}", "error": str(err)},
                )
            self._defer(entry.kind, entry.ref, now + delay)
            return
        if written.failures:
            log.info(
                "Status write went through after failures",
                extra={"object": f"{entry.kind} {entry.ref}", "attempts": written.failures + 1},
            )
        written.status, written.at, written.failures = status, now, 0
        self._observer.status_written(entry.kind)

    # ----- Events and logs --------------------------------------------------

    async def _announce(self, kind: Kind, ref: Ref, uid: str, previous: S, status: S) -> None:
        _log_change(kind, ref, previous, status)
        if transition(previous.health, status.health) and status.health is not None:
            await self._events.post(
                kind=kind,
                ref=ref,
                uid=uid,
                type_="Warning" if status.health in _BAD_HEALTH else "Normal",
                reason="HealthChanged",
                message=describe_transition(
                    previous.health, status.health, status.progress, status.expected_progress
                ),
            )
        missed = _committed_miss(previous, status)
        if missed is not None:
            await self._events.post(
                kind=kind,
                ref=ref,
                uid=uid,
                type_="Warning",
                reason="CommittedMissed",
                message=missed,
            )

    async def _confidence_dropped(
        self, entry: KeyResultEntry, before: LatestCheckIn, after: LatestCheckIn
    ) -> None:
        await self._events.post(
            kind=entry.kind,
            ref=entry.ref,
            uid=entry.uid,
            type_="Warning",
            reason="ConfidenceDropped",
            message=describe_drop(before, after),
        )

    async def _evaluation_failed(
        self, entry: KeyResultEntry, previous: KeyResultStatus, status: KeyResultStatus
    ) -> None:
        # kubectl describe shows a failing key result's problem even when its
        # health never changes (it may fail from its first evaluation on); once
        # per failure, and again when the reason changes, not per evaluation.
        ready = get_condition(status.conditions, ConditionType.READY)
        if ready is None or ready.status != ConditionStatus.FALSE:
            return
        before = get_condition(previous.conditions, ConditionType.READY)
        if before is not None and (before.status, before.reason) == (ready.status, ready.reason):
            return
        await self._events.post(
            kind=entry.kind,
            ref=entry.ref,
            uid=entry.uid,
            type_="Warning",
            reason="EvaluationFailed",
            message=f"{ready.reason}: {ready.message}",
        )


def _committed_miss(previous: object, status: object) -> str | None:
    """The CommittedMissed message when a committed key result has just ended Missed."""
    # A committed key result is expected to reach 1.0: a miss calls for a postmortem.
    if not isinstance(status, KeyResultStatus) or not isinstance(previous, KeyResultStatus):
        return None
    if status.health is not Health.MISSED or previous.health is Health.MISSED:
        return None
    if status.commitment is Commitment.ASPIRATIONAL:
        return None
    grade = "no grade" if status.grade is None else f"graded {status.grade:.2f}"
    return f"committed key result missed ({grade} of 1.00): a postmortem is due"


def _log_change(kind: Kind, ref: Ref, previous: S, status: S) -> None:
    # One line per change a user would act on, not one per evaluation.
    old: dict[ConditionType, tuple[str, str]] = {
        c.type: (c.status, c.reason) for c in previous.conditions
    }
    for cond in status.conditions:
        if old.get(cond.type) != (cond.status, cond.reason):
            _log_condition(kind, ref, cond)
    if previous.health != status.health:
        log.info(
            "Health changed",
            extra={
                "object": f"{kind} {ref}",
                "from": str(previous.health),
                "to": str(status.health),
                "progress": status.progress,
                "expected": status.expected_progress,
            },
        )


def _log_condition(kind: Kind, ref: Ref, cond: Condition) -> None:
    level = logging.INFO if cond.status == "True" else logging.WARNING
    log.log(
        level,
        f"{cond.type} is {cond.status}",
        extra={"object": f"{kind} {ref}", "reason": cond.reason, "detail": cond.message},
    )
