"""Check-ins: the owner's confidence, manual values, cadence and drops.

Pure rules over ``OwnerCheckIn`` values (the CheckIn objects of one key
result). Ties are broken by name: of two check-ins with the same time the
later by name wins, so the answer never depends on the order they arrived in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from okr_operator.domain.formatting import format_timestamp
from okr_operator.domain.model import (
    ConditionStatus,
    KeyResult,
    KeyResultStatus,
    LatestCheckIn,
    OwnerCheckIn,
    Period,
    Reason,
    Ref,
)

# A drop of this much confidence (or more) between two check-ins posts an Event.
DROP = 0.2
_EPSILON = 1e-9


def _order(check_in: OwnerCheckIn) -> tuple[datetime, str]:
    return (check_in.time.astimezone(UTC), check_in.ref.name)


def ordered(check_ins: Iterable[OwnerCheckIn]) -> list[OwnerCheckIn]:
    """Oldest first; equal times by name."""
    return sorted(check_ins, key=_order)


def latest(check_ins: Iterable[OwnerCheckIn], *, at: datetime | None = None) -> OwnerCheckIn | None:
    """The check-in in force at ``at`` (None: the newest of all)."""
    candidates = [c for c in check_ins if at is None or c.time.astimezone(UTC) <= at]
    return max(candidates, key=_order) if candidates else None


def value_at(check_ins: Iterable[OwnerCheckIn], at: datetime) -> OwnerCheckIn | None:
    """The latest check-in with a ``value`` at or before ``at``."""
    return latest((c for c in check_ins if c.value is not None), at=at.astimezone(UTC))


def first_value(check_ins: Iterable[OwnerCheckIn]) -> OwnerCheckIn | None:
    """The earliest check-in with a ``value`` (a manual key result's baseline fallback)."""
    with_values = [c for c in check_ins if c.value is not None]
    return min(with_values, key=_order) if with_values else None


def summary(check_in: OwnerCheckIn | None) -> LatestCheckIn | None:
    """``status.checkIn`` for ``check_in``."""
    if check_in is None:
        return None
    return LatestCheckIn(
        name=check_in.ref.name,
        time=check_in.time,
        confidence=check_in.confidence,
        note=check_in.note,
        author=check_in.author,
        value=check_in.value,
        blockers=check_in.blockers,
    )


def is_due(
    last: datetime | None, *, every: timedelta | None, period: Period | None, now: datetime
) -> bool | None:
    """Whether a check-in is due: the last one (or the period start) is ``every`` old.

    None when the key result has no cadence. Never due before the period starts
    or after it ended: nobody checks in on a finished quarter.
    """
    if every is None:
        return None
    if period is not None and (now < period.start or now >= period.end):
        return False
    since = last if last is not None else (period.start if period is not None else None)
    if since is None:
        return None
    return since + every <= now


def confidence_drop(previous: LatestCheckIn | None, new: LatestCheckIn | None) -> float | None:
    """The drop from ``previous`` to a newer check-in when it is ``DROP`` or more."""
    if previous is None or new is None or previous.name == new.name:
        return None
    if new.time.astimezone(UTC) < previous.time.astimezone(UTC):
        return None
    drop = previous.confidence - new.confidence
    return drop if drop >= DROP - _EPSILON else None


def preceding(
    check_ins: Iterable[OwnerCheckIn], newest: LatestCheckIn | None
) -> LatestCheckIn | None:
    """The check-in just before ``newest`` (by time, then name): what a drop is measured from."""
    if newest is None:
        return None
    key = (newest.time.astimezone(UTC), newest.name)
    before = [c for c in check_ins if _order(c) < key]
    return summary(max(before, key=_order)) if before else None


def dropped_from(
    shown: LatestCheckIn | None, newest: LatestCheckIn | None, check_ins: Iterable[OwnerCheckIn]
) -> LatestCheckIn | None:
    """The check-in a ConfidenceDropped Event compares ``newest`` with, if one is due.

    Due once per new newest check-in: ``shown`` (the status before) is another, older one
    or none. The drop is measured from the check-in just before ``newest``, so two
    check-ins that arrive together (or while the operator was down) are compared too. A
    restart reads the same ``status.checkIn`` back and posts nothing.
    """
    if newest is None or (shown is not None and shown.name == newest.name):
        return None
    if shown is not None and newest.time.astimezone(UTC) < shown.time.astimezone(UTC):
        return None  # the newest was deleted: falling back is no news
    before = preceding(check_ins, newest)
    return before if confidence_drop(before, newest) is not None else None


def describe_drop(previous: LatestCheckIn, new: LatestCheckIn) -> str:
    """The ConfidenceDropped Event's message."""
    note = f": {new.note}" if new.note else ""
    by = f" by {new.author}" if new.author else ""
    return (
        f"confidence dropped from {previous.confidence:.2f} to {new.confidence:.2f} "
        f"(CheckIn {new.name}{by}){note}"
    )[:1024]


def apply_check_ins(
    status: KeyResultStatus,
    check_ins: Sequence[OwnerCheckIn],
    *,
    every: timedelta | None,
    period: Period | None,
    now: datetime,
) -> KeyResultStatus:
    """``status`` with ``checkIn``, ``checkInDue`` and each history point's confidence."""
    newest = latest(check_ins)
    history = tuple(
        point
        if point.confidence is not None
        else replace(point, confidence=_confidence_at(check_ins, point.time))
        for point in status.history
    )
    last = newest.time.astimezone(UTC) if newest is not None else None
    return replace(
        status,
        check_in=summary(newest),
        check_in_due=is_due(last, every=every, period=period, now=now),
        history=history,
    )


def _confidence_at(check_ins: Sequence[OwnerCheckIn], at: datetime) -> float | None:
    in_force = latest(check_ins, at=at.astimezone(UTC))
    return in_force.confidence if in_force is not None else None


def check_in_condition(
    check_in: OwnerCheckIn, key_result: KeyResult | None, *, known: bool
) -> tuple[ConditionStatus, str, str]:
    """A CheckIn's Ready condition: ``(status, reason, message)``.

    ``key_result`` is the parsed KeyResult it names (None: not found, or
    ``known`` but with an invalid spec).
    """
    ref = Ref(check_in.ref.namespace, check_in.key_result)
    if key_result is None:
        what = "has an invalid spec" if known else "not found"
        return (
            ConditionStatus.FALSE,
            str(Reason.REFERENCE_NOT_FOUND),
            f"KeyResult {ref} (spec.keyResultRef) {what}",
        )
    if check_in.value is not None and not key_result.manual:
        return (
            ConditionStatus.TRUE,
            str(Reason.VALUE_IGNORED),
            f"recorded for KeyResult {ref}; spec.value is ignored: that key result is "
            "measured by its spec.query, only manual key results take their value from check-ins",
        )
    return (
        ConditionStatus.TRUE,
        str(Reason.RECORDED),
        f"recorded for KeyResult {ref} at {format_timestamp(check_in.time)}",
    )
