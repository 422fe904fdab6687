"""The objects the engine knows, one entry type per kind, and the alignment indexes.

The registry is the one owner of each object's spec and status; the metrics
and the web view get read-only snapshots of it (``domain.snapshot``). Membership
(an objective's key results) and the alignment map (an objective's children)
are indexes kept up to date on every upsert and removal, so finding them never
scans the other objects: every change here is O(1), a lookup is O(its answer).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from okr_operator.domain.model import (
    Condition,
    KeyResult,
    KeyResultStatus,
    Objective,
    ObjectiveStatus,
    OwnerCheckIn,
    Ref,
)
from okr_operator.domain.snapshot import KeyResultSnapshot, ObjectiveSnapshot, Snapshot
from okr_operator.services.kinds import Kind

S = TypeVar("S", KeyResultStatus, ObjectiveStatus)


@dataclass(slots=True)
class Written(Generic[S]):
    """The status last patched to the API server, and when."""

    status: S | None = None
    at: datetime | None = None
    # Failed attempts since the last write that went through (for the backoff).
    failures: int = 0


@dataclass(slots=True)
class KeyResultEntry:
    """What the engine knows about one KeyResult."""

    ref: Ref
    uid: str
    generation: int
    spec: KeyResult | None
    invalid: str | None
    status: KeyResultStatus
    written: Written[KeyResultStatus] = field(default_factory=Written)

    kind = Kind.KEY_RESULT

    @property
    def objective(self) -> Ref | None:
        """The objective its spec names (None while the spec is invalid)."""
        return Ref(self.ref.namespace, self.spec.objective) if self.spec is not None else None


@dataclass(slots=True)
class ObjectiveEntry:
    """What the engine knows about one Objective."""

    ref: Ref
    uid: str
    generation: int
    spec: Objective | None
    invalid: str | None
    status: ObjectiveStatus
    written: Written[ObjectiveStatus] = field(default_factory=Written)

    kind = Kind.OBJECTIVE

    @property
    def parent(self) -> Ref | None:
        """The parent its spec names, if any (None while the spec is invalid)."""
        return self.spec.parent if self.spec is not None else None


@dataclass(slots=True)
class CheckInEntry:
    """What the engine knows about one CheckIn: its spec and its own Ready condition."""

    ref: Ref
    uid: str
    generation: int
    spec: OwnerCheckIn | None
    invalid: str | None
    conditions: tuple[Condition, ...]
    written: tuple[Condition, ...] | None = None

    kind = Kind.CHECK_IN

    @property
    def key_result(self) -> Ref | None:
        """The key result its spec names (None while the spec is invalid)."""
        return Ref(self.ref.namespace, self.spec.key_result) if self.spec is not None else None


K = TypeVar("K", KeyResultEntry, ObjectiveEntry)


class _Index:
    """``target → {ref}``, insertion-ordered so rollups add up in a stable order."""

    def __init__(self) -> None:
        self._by_target: dict[Ref, dict[Ref, None]] = {}

    def move(self, ref: Ref, old: Ref | None, new: Ref | None) -> None:
        if old == new:
            return
        if old is not None:
            refs = self._by_target.get(old)
            if refs is not None:
                refs.pop(ref, None)
                if not refs:
                    del self._by_target[old]
        if new is not None:
            self._by_target.setdefault(new, {})[ref] = None

    def get(self, target: Ref) -> Iterator[Ref]:
        return iter(tuple(self._by_target.get(target, ())))

    def __len__(self) -> int:
        return sum(len(refs) for refs in self._by_target.values())


class Registry:
    """Key results, objectives and the indexes between them."""

    def __init__(self) -> None:
        self._key_results: dict[Ref, KeyResultEntry] = {}
        self._objectives: dict[Ref, ObjectiveEntry] = {}
        self._members = _Index()  # objective → key results whose objectiveRef names it
        self._children = _Index()  # objective → objectives whose parentRef names it
        self._check_ins: dict[Ref, CheckInEntry] = {}
        self._check_ins_of = _Index()  # key result → check-ins whose keyResultRef names it

    # ----- key results ------------------------------------------------------

    def key_result(self, ref: Ref) -> KeyResultEntry | None:
        """The key result ``ref``, if known."""
        return self._key_results.get(ref)

    def put_key_result(self, entry: KeyResultEntry) -> None:
        """Add ``entry`` or replace the entry of its ref (a recreated object)."""
        old = self._key_results.get(entry.ref)
        self._key_results[entry.ref] = entry
        self._members.move(entry.ref, old.objective if old else None, entry.objective)

    def set_key_result_spec(
        self, entry: KeyResultEntry, spec: KeyResult | None, invalid: str | None
    ) -> None:
        """Change a key result's spec and keep the membership index right."""
        old = entry.objective
        entry.spec, entry.invalid = spec, invalid
        self._members.move(entry.ref, old, entry.objective)

    def remove_key_result(self, ref: Ref) -> KeyResultEntry | None:
        """Forget a key result; return what was known."""
        entry = self._key_results.pop(ref, None)
        if entry is not None:
            self._members.move(ref, entry.objective, None)
        return entry

    def members(self, objective: Ref) -> list[KeyResultEntry]:
        """The key results whose objectiveRef names ``objective`` (valid specs only)."""
        return [self._key_results[ref] for ref in self._members.get(objective)]

    def objective_of(self, entry: KeyResultEntry) -> ObjectiveEntry | None:
        """The objective ``entry`` names, if it exists."""
        ref = entry.objective
        return self._objectives.get(ref) if ref is not None else None

    # ----- objectives -------------------------------------------------------

    def objective(self, ref: Ref) -> ObjectiveEntry | None:
        """The objective ``ref``, if known."""
        return self._objectives.get(ref)

    def put_objective(self, entry: ObjectiveEntry) -> None:
        """Add ``entry`` or replace the entry of its ref."""
        old = self._objectives.get(entry.ref)
        self._objectives[entry.ref] = entry
        self._children.move(entry.ref, old.parent if old else None, entry.parent)

    def set_objective_spec(
        self, entry: ObjectiveEntry, spec: Objective | None, invalid: str | None
    ) -> None:
        """Change an objective's spec and keep the alignment index right."""
        old = entry.parent
        entry.spec, entry.invalid = spec, invalid
        self._children.move(entry.ref, old, entry.parent)

    def remove_objective(self, ref: Ref) -> ObjectiveEntry | None:
        """Forget an objective; return what was known."""
        entry = self._objectives.pop(ref, None)
        if entry is not None:
            self._children.move(ref, entry.parent, None)
        return entry

    def children(self, parent: Ref) -> list[ObjectiveEntry]:
        """The objectives whose parentRef names ``parent`` (itself excluded: a cycle)."""
        return [self._objectives[ref] for ref in self._children.get(parent) if ref != parent]

    def parent_of(self, ref: Ref) -> Ref | None:
        """The parentRef of objective ``ref`` (None: unknown, invalid or top-level)."""
        entry = self._objectives.get(ref)
        return entry.parent if entry is not None else None

    # ----- check-ins ---------------------------------------------------------

    def check_in(self, ref: Ref) -> CheckInEntry | None:
        """The check-in ``ref``, if known."""
        return self._check_ins.get(ref)

    def put_check_in(self, entry: CheckInEntry) -> None:
        """Add ``entry`` or replace the entry of its ref."""
        old = self._check_ins.get(entry.ref)
        self._check_ins[entry.ref] = entry
        self._check_ins_of.move(entry.ref, old.key_result if old else None, entry.key_result)

    def set_check_in_spec(
        self, entry: CheckInEntry, spec: OwnerCheckIn | None, invalid: str | None
    ) -> None:
        """Change a check-in's spec and keep the index right."""
        old = entry.key_result
        entry.spec, entry.invalid = spec, invalid
        self._check_ins_of.move(entry.ref, old, entry.key_result)

    def remove_check_in(self, ref: Ref) -> CheckInEntry | None:
        """Forget a check-in; return what was known."""
        entry = self._check_ins.pop(ref, None)
        if entry is not None:
            self._check_ins_of.move(ref, entry.key_result, None)
        return entry

    def check_ins_of(self, key_result: Ref) -> list[CheckInEntry]:
        """The check-ins whose keyResultRef names ``key_result`` (valid specs only)."""
        return [self._check_ins[ref] for ref in self._check_ins_of.get(key_result)]

    # ----- views ------------------------------------------------------------

    def key_result_view(self, entry: KeyResultEntry) -> KeyResultSnapshot:
        """The read-only view of ``entry``, with the period it is evaluated in."""
        spec = entry.spec
        period = None
        if spec is not None:
            objective = self.objective_of(entry)
            inherited = objective.spec.period if objective and objective.spec else None
            period = spec.period or inherited
        return KeyResultSnapshot(entry.ref, spec, period, entry.status, entry.invalid)

    @staticmethod
    def objective_view(entry: ObjectiveEntry) -> ObjectiveSnapshot:
        """The read-only view of ``entry``."""
        return ObjectiveSnapshot(entry.ref, entry.spec, entry.status, entry.invalid)

    def snapshot(self) -> Snapshot:
        """Every object, ordered by namespace and name."""
        return Snapshot(
            key_results=tuple(
                self.key_result_view(self._key_results[ref]) for ref in sorted(self._key_results)
            ),
            objectives=tuple(
                self.objective_view(self._objectives[ref]) for ref in sorted(self._objectives)
            ),
        )

    def counts(self) -> dict[str, int]:
        """How many of each kind."""
        return {
            "keyResults": len(self._key_results),
            "objectives": len(self._objectives),
            "checkIns": len(self._check_ins),
        }
