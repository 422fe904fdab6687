"""When to patch status: at once on real change, otherwise at most once an interval."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from okr_operator.domain.conditions import significant_change
from okr_operator.domain.model import KeyResultStatus, ObjectiveStatus

_Status = TypeVar("_Status", KeyResultStatus, ObjectiveStatus)


def needs_write_now(written: _Status | None, new: _Status) -> bool:
    """True when nothing was written yet or health, grade, generation or a condition changed."""
    if written is None:
        return True
    return (
        written.health != new.health
        or written.grade != new.grade
        or written.observed_generation != new.observed_generation
        or significant_change(written.conditions, new.conditions)
    )


def write_due(last_write: datetime | None, now: datetime, interval: timedelta) -> bool:
    """True when the last write is at least ``interval`` old (or there was none)."""
    return last_write is None or now - last_write >= interval
