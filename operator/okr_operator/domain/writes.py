"""When to patch status: the rule that keeps ``kubectl get`` true and the API server calm.

- What users read (health, progress to 0.01, grade, the observed generation,
  a condition's status or reason, the latest check-in and whether one is due)
  is patched at the first chance after it changes: at once, or, if the object
  was written less than one evaluation interval ago, when that interval has
  passed. So ``kubectl get`` is never more than one interval behind the latest
  evaluation, and no object gets more than one write per interval.
- A status that differs only in what users do not read (the value between
  progress points, expected progress, times, messages) is refreshed at most
  once per ``status_interval`` (``--status-interval``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from okr_operator.domain.conditions import significant_change
from okr_operator.domain.model import Forecast, KeyResultStatus, ObjectiveStatus

PROGRESS_STEP = 0.01  # one progress point: the resolution of kubectl's PROGRESS column

_Status = TypeVar("_Status", KeyResultStatus, ObjectiveStatus)


def visible_change(written: _Status, new: _Status) -> bool:
    """True when ``new`` differs from ``written`` in what users read."""
    return (
        written.health != new.health
        or written.grade != new.grade
        or written.observed_generation != new.observed_generation
        or _forecast_moved(written.forecast, new.forecast)
        or _progress_moved(written.progress, new.progress)
        or significant_change(written.conditions, new.conditions)
        or _check_in_changed(written, new)
    )


def _check_in_changed(
    written: KeyResultStatus | ObjectiveStatus, new: KeyResultStatus | ObjectiveStatus
) -> bool:
    # A new CheckIn, or a check-in falling due, is news for the owner at once.
    if isinstance(written, ObjectiveStatus) or isinstance(new, ObjectiveStatus):
        return False
    return (written.check_in, written.check_in_due) != (new.check_in, new.check_in_due)


def _progress_moved(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return old is not new
    # A hair below the step counts: 0.50 → 0.51 computed in floats is 0.00999….
    return abs(new - old) >= PROGRESS_STEP - 1e-9


def _forecast_moved(old: Forecast | None, new: Forecast | None) -> bool:
    if old is None or new is None:
        return old is not new
    return old.achieves != new.achieves or _progress_moved(old.progress, new.progress)


def next_write(
    written: _Status | None,
    new: _Status,
    *,
    last_write: datetime | None,
    now: datetime,
    interval: timedelta,
    status_interval: timedelta,
) -> datetime | None:
    """When to patch ``new``: ``now``, a later time, or None (nothing worth a write)."""
    if written is None or last_write is None:
        return now
    if visible_change(written, new):
        return max(now, last_write + interval)
    if now >= last_write + max(interval, status_interval):
        return now
    return None
