"""okr_operator.cli.views: the tree and table ``kubectl okr``, ``okr preview`` and the demo print."""

# The expected tables are whole terminal lines, wider than the code's 100 columns.
# ruff: noqa: E501

from __future__ import annotations

from typing import Any

import pytest

from okr_operator.cli.views import render_table, render_tree, table_json, tree_json

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
    owner: str = "",
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "objectiveRef": {"name": objective_name},
        "query": "vector(1)",
        "target": target,
    }
    if unit:
        spec["unit"] = unit
    if owner:
        spec["owner"] = owner
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
        "team-a",
        "p95",
        "stable",
        0.3,
        unit="seconds",
        owner="sre@example.com",
        status=status(0.4, 0.58, "AtRisk", 0.6009),
    ),
    key_result("team-a", "new", "stable", 5),
    key_result(
        "okr", "availability", "company", 99.9, unit="%", status=status(1.0, 0.58, "OnTrack", 99.94)
    ),
    key_result("team-z", "stray", "missing", 1, status=status(0.0, 0.5, "Unknown")),
]


def test_the_tree_nests_team_objectives_and_key_results_under_the_company() -> None:
    assert render_tree(OBJECTIVES, KEY_RESULTS) == (
        "OBJECTIVE / KEY RESULT                                  VALUE / TARGET        PROGRESS         EXPECTED  HEALTH    OWNER\n"
        "Customers love us [okr]                                                       █████░░░░░  50%       58%  AtRisk\n"
        "├─ availability                                         99.94 / 99.9 %        ██████████ 100%       58%  OnTrack\n"
        "├─ Stay up [team-a]                                                           █░░░░░░░░░  10%       58%  OffTrack\n"
        "│  ├─ new                                               - / 5                               -         -  -\n"
        "│  └─ p95                                               0.6009 / 0.3 seconds  ████░░░░░░  40%       58%  AtRisk    sre@example.com\n"
        "└─ Ship fast [team-b]                                                         ██████░░░░  61%       58%  OnTrack\n"
        "   └─ lead-time                                         41.4 / 6 hours        ██████░░░░  61%       58%  OnTrack\n"
        "Parent gone [team-c] (parent team-c/nothing not found)                                      -         -  -\n"
        "(key results whose objective does not exist)\n"
        "└─ stray                                                - / 1                 ░░░░░░░░░░   0%       50%  Unknown\n"
    )


def test_health_is_coloured_for_a_terminal_and_columns_stay_aligned() -> None:
    objectives = [
        objective("okr", "company", "Customers love us", status=status(0.5, 0.58, "AtRisk"))
    ]
    key_results = [
        key_result("okr", "up", "company", 1, owner="me", status=status(1.0, 0.58, "Achieved", 1))
    ]
    assert render_tree(objectives, key_results, color=True) == (
        "OBJECTIVE / KEY RESULT   VALUE / TARGET  PROGRESS         EXPECTED  HEALTH    OWNER\n"
        "Customers love us [okr]                  █████░░░░░  50%       58%  \033[33mAtRisk\033[0m\n"
        "└─ up                    1 / 1           ██████████ 100%       58%  \033[1;32mAchieved\033[0m  me\n"
    )


def test_a_cycle_of_parent_refs_is_shown_once_and_not_followed() -> None:
    objectives = [
        objective("ns", "a", "A", parent={"name": "b"}, status=status(0.2, 0.5, "AtRisk")),
        objective("ns", "b", "B", parent={"name": "a"}, status=status(0.3, 0.5, "AtRisk")),
    ]
    assert render_tree(objectives, []) == (
        "OBJECTIVE / KEY RESULT  VALUE / TARGET  PROGRESS         EXPECTED  HEALTH  OWNER\n"
        "A [ns]                                  ██░░░░░░░░  20%       50%  AtRisk\n"
        "└─ B [ns]                               ███░░░░░░░  30%       50%  AtRisk\n"
    )


def test_no_objects_is_just_the_header() -> None:
    assert render_tree([], []) == (
        "OBJECTIVE / KEY RESULT  VALUE / TARGET  PROGRESS  EXPECTED  HEALTH  OWNER\n"
    )
    assert render_table([], []) == (
        "NAMESPACE  KIND  NAME  VALUE  BASELINE  TARGET  PROGRESS  EXPECTED  HEALTH  OWNER  CONDITION\n"
    )


def test_the_table_shows_every_object_with_baseline_and_the_failing_condition() -> None:
    failing = key_result("team-a", "broken", "stable", 5, unit="ms")
    failing["spec"]["baseline"] = 9
    failing["status"] = {
        "health": "Unknown",
        "expectedProgress": 0.58,
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "QueryFailed", "message": "bad_data: x"},
            {"type": "DataAvailable", "status": "Unknown", "reason": "QueryFailed", "message": "x"},
        ],
    }
    captured = key_result("team-a", "p95", "stable", 0.3, status=status(0.4, 0.58, "AtRisk", 0.6))
    captured["status"]["baseline"] = 0.8
    objectives = [objective("team-a", "stable", "Stay up", status=status(0.2, 0.58, "OffTrack"))]
    assert render_table(objectives, [failing, captured]) == (
        "NAMESPACE  KIND  NAME    VALUE  BASELINE  TARGET  PROGRESS  EXPECTED  HEALTH    OWNER  CONDITION\n"
        "team-a     obj   stable                                20%       58%  OffTrack\n"
        "team-a     kr    broken  - ms   9         5              -       58%  Unknown          QueryFailed: bad_data: x\n"
        "team-a     kr    p95     0.6    0.8       0.3          40%       58%  AtRisk\n"
    )


def test_a_forecast_column_appears_only_when_a_status_has_one() -> None:
    kr = key_result("ns", "k", "o", 1, status={**status(0.5, 0.5, "OnTrack", 0.5), "forecast": 0.9})
    assert render_table([], [kr]) == (
        "NAMESPACE  KIND  NAME  VALUE  BASELINE  TARGET  PROGRESS  EXPECTED  HEALTH   FORECAST  OWNER  CONDITION\n"
        "ns         kr    k     0.5    -         1            50%       50%  OnTrack  90%\n"
    )
    assert table_json([], [kr])[0]["forecast"] == 0.9


def test_json_rows_carry_full_precision_and_the_tree_nests_them() -> None:
    kr = key_result(
        "okr", "up", "company", 99.9, unit="%", status=status(0.12345678, 0.5, "AtRisk", 99.912345)
    )
    company = objective("okr", "company", "Customers love us", status=status(0.5, 0.58, "AtRisk"))
    team = objective("t", "team", "Team", parent={"name": "company", "namespace": "okr"})
    expected_kr = {
        "kind": "KeyResult",
        "namespace": "okr",
        "name": "up",
        "owner": None,
        "objective": "company",
        "unit": "%",
        "value": 99.912345,
        "baseline": None,
        "target": 99.9,
        "progress": 0.12345678,
        "expectedProgress": 0.5,
        "health": "AtRisk",
        "lastEvaluationTime": None,
        "conditions": [],
    }
    expected_team = {
        "kind": "Objective",
        "namespace": "t",
        "name": "team",
        "owner": None,
        "title": "Team",
        "parent": {"namespace": "okr", "name": "company"},
        "progress": None,
        "expectedProgress": None,
        "health": None,
        "lastEvaluationTime": None,
        "conditions": [],
        "keyResults": [],
        "children": [],
    }
    assert tree_json([company, team], [kr]) == {
        "objectives": [
            {
                "kind": "Objective",
                "namespace": "okr",
                "name": "company",
                "owner": None,
                "title": "Customers love us",
                "parent": None,
                "progress": 0.5,
                "expectedProgress": 0.58,
                "health": "AtRisk",
                "lastEvaluationTime": None,
                "conditions": [],
                "keyResults": [expected_kr],
                "children": [expected_team],
            }
        ],
        "keyResultsWithoutObjective": [],
    }
