"""A read-only snapshot of every objective and key result: what reports and the web view read.

The engine hands one out (``Engine.snapshot()``) and ``okr report`` builds one
from what the API server returns; both carry the parsed spec, the period in
force and the status as the operator wrote it. ``spec`` is None when the
object's spec did not parse; ``invalid`` then says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from okr_operator.domain.model import (
    KeyResult,
    KeyResultStatus,
    Objective,
    ObjectiveStatus,
    Period,
    Ref,
)


@dataclass(frozen=True, slots=True)
class KeyResultSnapshot:
    """One key result: spec, the period in force (its own or its objective's), status."""

    ref: Ref
    spec: KeyResult | None
    period: Period | None
    status: KeyResultStatus
    invalid: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectiveSnapshot:
    """One objective: spec and status."""

    ref: Ref
    spec: Objective | None
    status: ObjectiveStatus
    invalid: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every key result and objective known at one moment."""

    key_results: tuple[KeyResultSnapshot, ...] = ()
    objectives: tuple[ObjectiveSnapshot, ...] = ()
