"""The registry's indexes: membership and children without scans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from okr_operator.domain.model import (
    KeyResult,
    KeyResultStatus,
    Objective,
    ObjectiveStatus,
    Period,
    Ref,
)
from okr_operator.services.registry import KeyResultEntry, ObjectiveEntry, Registry

pytestmark = pytest.mark.unit

T0 = datetime(2026, 10, 1, tzinfo=UTC)
PERIOD = Period(T0, T0 + timedelta(days=92))
OTHER = Period(T0 + timedelta(days=92), T0 + timedelta(days=184))


def objective(name: str, parent: str | None = None, period: Period = PERIOD) -> ObjectiveEntry:
    spec = Objective(
        ref=Ref("ns", name), generation=1, title=name, period=period,
        parent=Ref("ns", parent) if parent else None,
    )  # fmt: skip
    return ObjectiveEntry(spec.ref, f"uid-{name}", 1, spec, None, ObjectiveStatus())


def key_result(name: str, objective: str) -> KeyResultEntry:
    spec = KeyResult(ref=Ref("ns", name), generation=1, objective=objective, query="q", target=1)
    return KeyResultEntry(spec.ref, f"uid-{name}", 1, spec, None, KeyResultStatus())


def names(entries: list[KeyResultEntry] | list[ObjectiveEntry]) -> list[str]:
    return [e.ref.name for e in entries]


def test_members_follow_moves_renames_invalid_specs_and_deletions() -> None:
    registry = Registry()
    for name in ("a", "b"):
        registry.put_objective(objective(name))
    x, y = key_result("x", "a"), key_result("y", "a")
    registry.put_key_result(x)
    registry.put_key_result(y)
    assert (names(registry.members(Ref("ns", "a"))), names(registry.members(Ref("ns", "b")))) == (
        ["x", "y"],
        [],
    )
    assert registry.objective_of(x) is registry.objective(Ref("ns", "a"))

    registry.set_key_result_spec(x, key_result("x", "b").spec, None)  # moved
    assert names(registry.members(Ref("ns", "a"))) == ["y"]
    assert names(registry.members(Ref("ns", "b"))) == ["x"]
    assert registry.objective_of(x) is registry.objective(Ref("ns", "b"))

    registry.remove_key_result(Ref("ns", "y"))  # renamed: removed, added under a new name
    registry.put_key_result(key_result("z", "a"))
    assert names(registry.members(Ref("ns", "a"))) == ["z"]

    registry.set_key_result_spec(x, None, "spec.target: required")  # invalid: no objective
    assert names(registry.members(Ref("ns", "b"))) == []
    assert registry.objective_of(x) is None

    registry.put_key_result(key_result("w", "missing"))  # waits for an objective not seen yet
    assert names(registry.members(Ref("ns", "missing"))) == ["w"]
    assert registry.objective_of(registry.key_result(Ref("ns", "w")) or x) is None
    assert registry.counts() == {"keyResults": 3, "objectives": 2, "checkIns": 0}


def test_children_follow_parent_refs_and_a_self_reference_is_no_child() -> None:
    registry = Registry()
    registry.put_objective(objective("company"))
    team = objective("team", parent="company")
    registry.put_objective(team)
    registry.put_objective(objective("loop", parent="loop"))
    assert names(registry.children(Ref("ns", "company"))) == ["team"]
    assert names(registry.children(Ref("ns", "loop"))) == []
    assert registry.parent_of(Ref("ns", "team")) == Ref("ns", "company")

    registry.set_objective_spec(team, objective("team", parent="loop").spec, None)
    assert names(registry.children(Ref("ns", "company"))) == []
    assert names(registry.children(Ref("ns", "loop"))) == ["team"]
    registry.remove_objective(Ref("ns", "team"))
    assert names(registry.children(Ref("ns", "loop"))) == []


def test_a_recreated_object_replaces_its_index_entries() -> None:
    registry = Registry()
    registry.put_key_result(key_result("x", "a"))
    registry.put_key_result(key_result("x", "b"))  # same name, new uid, other objective
    assert names(registry.members(Ref("ns", "a"))) == []
    assert names(registry.members(Ref("ns", "b"))) == ["x"]


def test_views_carry_the_inherited_period_and_the_snapshot_is_ordered() -> None:
    registry = Registry()
    registry.put_key_result(key_result("y", "a"))
    registry.put_key_result(key_result("x", "a"))
    assert [v.period for v in registry.snapshot().key_results] == [None, None]
    registry.put_objective(objective("a"))
    snapshot = registry.snapshot()
    assert [(v.ref.name, v.period) for v in snapshot.key_results] == [("x", PERIOD), ("y", PERIOD)]
    assert [(v.ref.name, v.spec and v.spec.period) for v in snapshot.objectives] == [("a", PERIOD)]
