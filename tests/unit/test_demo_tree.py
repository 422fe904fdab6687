"""``render_tree`` of hack/demo.py: the alignment map the demo prints."""

# The expected tables are whole terminal lines, wider than the code's 100 columns.
# ruff: noqa: E501

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hack"))

from demo import render_tree  # noqa: E402

pytestmark = pytest.mark.unit


def objective(
    namespace: str,
    name: str,
    title: str,
    parent: dict[str, str] | None = None,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"title": title, "period": {"quarter": "2026-Q4"}}
    if parent is not None:
        spec["parentRef"] = parent
    return {
        "kind": "Objective",
        "metadata": {"namespace": namespace, "name": name},
        "spec": spec,
        **({"status": status} if status is not None else {}),
    }


def key_result(
    namespace: str,
    name: str,
    objective_name: str,
    target: float,
    *,
    unit: str = "",
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "objectiveRef": {"name": objective_name},
        "query": "vector(1)",
        "target": target,
    }
    if unit:
        spec["unit"] = unit
    return {
        "kind": "KeyResult",
        "metadata": {"namespace": namespace, "name": name},
        "spec": spec,
        **({"status": status} if status is not None else {}),
    }


def status(
    progress: float, expected: float, health: str, value: float | None = None
) -> dict[str, Any]:
    result: dict[str, Any] = {"progress": progress, "expectedProgress": expected, "health": health}
    if value is not None:
        result["value"] = value
    return result


OBJECTIVES = [
    # Listed out of order on purpose: the tree sorts by namespace and name.
    objective(
        "team-b",
        "fast",
        "Ship fast",
        parent={"name": "company", "namespace": "okr"},
        status=status(0.61, 0.58, "OnTrack"),
    ),
    objective("okr", "company", "Customers love us", status=status(0.5, 0.58, "AtRisk")),
    objective(
        "team-a",
        "stable",
        "Stay up",
        parent={"name": "company", "namespace": "okr"},
        status=status(0.1, 0.58, "OffTrack"),
    ),
    objective("team-c", "lost", "Parent gone", parent={"name": "nothing"}),
]
KEY_RESULTS = [
    key_result(
        "team-b", "lead-time", "fast", 6, unit="hours", status=status(0.6073, 0.58, "OnTrack", 41.4)
    ),
    key_result(
        "team-a", "p95", "stable", 0.3, unit="seconds", status=status(0.4, 0.58, "AtRisk", 0.6009)
    ),
    key_result("team-a", "new", "stable", 5),
    key_result(
        "okr", "availability", "company", 99.9, unit="%", status=status(1.0, 0.58, "OnTrack", 99.94)
    ),
    key_result("team-z", "stray", "missing", 1, status=status(0.0, 0.5, "Unknown")),
]


def test_the_tree_nests_team_objectives_and_key_results_under_the_company() -> None:
    assert render_tree(OBJECTIVES, KEY_RESULTS) == (
        "OBJECTIVE / KEY RESULT                                  VALUE / TARGET        PROGRESS  EXPECTED  HEALTH\n"
        "Customers love us [okr]                                                            50%       58%  AtRisk\n"
        "├─ availability                                         99.94 / 99.9 %            100%       58%  OnTrack\n"
        "├─ Stay up [team-a]                                                                10%       58%  OffTrack\n"
        "│  ├─ new                                               - / 5                        -         -  -\n"
        "│  └─ p95                                               0.6009 / 0.3 seconds       40%       58%  AtRisk\n"
        "└─ Ship fast [team-b]                                                              61%       58%  OnTrack\n"
        "   └─ lead-time                                         41.4 / 6 hours             61%       58%  OnTrack\n"
        "Parent gone [team-c] (parent team-c/nothing not found)                               -         -  -\n"
        "(key results whose objective does not exist)\n"
        "└─ stray                                                - / 1                       0%       50%  Unknown\n"
    )


def test_health_is_coloured_for_a_terminal_and_columns_stay_aligned() -> None:
    objectives = [
        objective("okr", "company", "Customers love us", status=status(0.5, 0.58, "AtRisk"))
    ]
    key_results = [key_result("okr", "up", "company", 1, status=status(1.0, 0.58, "Achieved", 1))]
    assert render_tree(objectives, key_results, color=True) == (
        "OBJECTIVE / KEY RESULT   VALUE / TARGET  PROGRESS  EXPECTED  HEALTH\n"
        "Customers love us [okr]                       50%       58%  \033[33mAtRisk\033[0m\n"
        "└─ up                    1 / 1               100%       58%  \033[1;32mAchieved\033[0m\n"
    )


def test_a_cycle_of_parent_refs_is_shown_once_and_not_followed() -> None:
    objectives = [
        objective("ns", "a", "A", parent={"name": "b"}, status=status(0.2, 0.5, "AtRisk")),
        objective("ns", "b", "B", parent={"name": "a"}, status=status(0.3, 0.5, "AtRisk")),
    ]
    assert render_tree(objectives, []) == (
        "OBJECTIVE / KEY RESULT  VALUE / TARGET  PROGRESS  EXPECTED  HEALTH\n"
        "A [ns]                                       20%       50%  AtRisk\n"
        "└─ B [ns]                                    30%       50%  AtRisk\n"
    )


def test_no_objects_is_just_the_header() -> None:
    assert render_tree([], []) == (
        "OBJECTIVE / KEY RESULT  VALUE / TARGET  PROGRESS  EXPECTED  HEALTH\n"
    )
