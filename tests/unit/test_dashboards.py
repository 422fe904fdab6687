"""Structure of the Grafana dashboards in helm/okr-operator/dashboards/.

No Grafana schema validator installs as a light test dependency here (the npm
package @grafana/schema is TypeScript types, grafana-foundation-sdk's
``from_json`` accepts anything), so this checks what breaks dashboards in
practice: ids, layout, the datasource variable, PromQL syntax, metric names
and template variables. tests/e2e runs every panel query on real data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from tests.support.dashboards import (
    BUILTIN_DEFAULTS,
    dashboard_paths,
    is_contract_metric,
    iter_panels,
    load_dashboard,
    okr_metric_names,
    panel_queries,
    substitute,
    variable_names,
)

pytestmark = pytest.mark.unit

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
EXPECTED = {
    "okr-key-result.json": (
        "okr-key-result",
        {"datasource", "namespace", "objective", "key_result"},
    ),
    "okr-overview.json": ("okr-overview", {"datasource", "namespace", "team", "objective"}),
}
# Grafana's global variables that may appear in links and queries.
GRAFANA_GLOBALS = {
    *(name for name in BUILTIN_DEFAULTS),
    "__data",
    "__url_time_range",
    "__from",
    "__to",
    "__value",
    "__field",
    "__series",
}
# Panel types of a stock Grafana 10/11: nothing needs a plugin.
CORE_PANEL_TYPES = {"stat", "table", "timeseries", "bargauge", "state-timeline", "row", "text"}
EXAMPLE_VALUES = {
    "datasource": "prometheus",
    "namespace": "payments",
    "team": "payments",
    "objective": "faster-checkout",
    "key_result": "p95-latency",
}

DASHBOARDS = dashboard_paths()


def ids(path: Path) -> str:
    return path.name


def test_the_chart_ships_exactly_the_two_dashboards() -> None:
    assert [path.name for path in DASHBOARDS] == sorted(EXPECTED)


@pytest.fixture(params=DASHBOARDS, ids=ids)
def dashboard(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    path: Path = request.param
    return path.name, load_dashboard(path)


def defined_variables(dashboard: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {v["name"]: v for v in dashboard["templating"]["list"]}


def test_uid_title_schema_version_and_variables(dashboard: tuple[str, dict[str, Any]]) -> None:
    name, board = dashboard
    uid, variables = EXPECTED[name]
    assert board["uid"] == uid
    assert board["title"]
    assert 36 <= board["schemaVersion"] <= 41
    assert set(defined_variables(board)) == variables
    assert board.get("id") is None, "an exported instance id would clash on import"


def test_datasource_is_a_prometheus_datasource_variable(
    dashboard: tuple[str, dict[str, Any]],
) -> None:
    _, board = dashboard
    variable = defined_variables(board)["datasource"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")


def test_panel_ids_are_unique(dashboard: tuple[str, dict[str, Any]]) -> None:
    _, board = dashboard
    panel_ids = [panel["id"] for panel in iter_panels(board)]
    assert len(panel_ids) == len(set(panel_ids)), panel_ids


def test_panels_fit_the_24_column_grid_without_overlapping(
    dashboard: tuple[str, dict[str, Any]],
) -> None:
    _, board = dashboard
    cells: dict[tuple[int, int], str] = {}
    for panel in iter_panels(board):
        grid = panel["gridPos"]
        assert grid["w"] > 0, panel["title"]
        assert grid["h"] > 0, panel["title"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]


def test_every_panel_and_target_uses_the_datasource_variable(
    dashboard: tuple[str, dict[str, Any]],
) -> None:
    _, board = dashboard
    for panel in iter_panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], f"{panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, (panel["title"], target["refId"])
    for variable in defined_variables(board).values():
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE, variable["name"]


def test_panels_are_core_types_with_titles_and_unique_ref_ids(
    dashboard: tuple[str, dict[str, Any]],
) -> None:
    _, board = dashboard
    titles = []
    for panel in iter_panels(board):
        assert panel["type"] in CORE_PANEL_TYPES, (panel["title"], panel["type"])
        titles.append(panel["title"])
        refs = [target["refId"] for target in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), (panel["title"], refs)
    assert all(titles), titles
    assert len(titles) == len(set(titles)), titles


def test_every_okr_metric_used_is_in_the_metrics_contract(
    dashboard: tuple[str, dict[str, Any]],
) -> None:
    _, board = dashboard
    texts = [expr for _, expr in panel_queries(board, EXAMPLE_VALUES)]
    texts += [v["definition"] for v in defined_variables(board).values() if "definition" in v]
    used = set().union(*(okr_metric_names(text) for text in texts))
    assert used, "the dashboard uses no okr_* metric"
    assert sorted(name for name in used if not is_contract_metric(name)) == []


def test_every_template_variable_used_is_defined(dashboard: tuple[str, dict[str, Any]]) -> None:
    _, board = dashboard
    defined = set(defined_variables(board)) | GRAFANA_GLOBALS
    used = variable_names(json.dumps(board))
    assert sorted(used - defined) == []


def test_every_panel_query_is_valid_promql_once_variables_are_filled_in(
    dashboard: tuple[str, dict[str, Any]],
) -> None:
    _, board = dashboard
    queries = panel_queries(board, EXAMPLE_VALUES)
    assert queries
    for title, expr in queries:
        assert "$" not in expr, (title, expr)
        try:
            promql_parser.parse(expr)
        except ValueError as error:
            pytest.fail(f"{title!r}: {error}: {expr}")


def test_every_variable_query_is_valid_promql_once_variables_are_filled_in(
    dashboard: tuple[str, dict[str, Any]],
) -> None:
    _, board = dashboard
    for variable in defined_variables(board).values():
        if variable["type"] != "query":
            continue
        query = substitute(variable["definition"], EXAMPLE_VALUES, where=variable["name"])
        assert query.startswith("label_values("), query
        assert query.endswith(")"), query
        selector, _, label = query.removeprefix("label_values(").removesuffix(")").rpartition(",")
        assert label.strip() == variable["name"], query
        promql_parser.parse(selector)


# ----- panel_queries itself ---------------------------------------------------

SAMPLE = {
    "uid": "sample",
    "panels": [
        {
            "title": "Plain",
            "targets": [
                {"refId": "A", "expr": 'x{namespace="$namespace"}[$__rate_interval]'},
                {"refId": "B", "expr": 'y{k=~"${key_result}"}', "hide": True},
            ],
        },
        {
            "title": "Row",
            "type": "row",
            "panels": [
                {"title": "Nested", "targets": [{"refId": "A", "expr": "z[${__range:raw}]"}]}
            ],
        },
        {"title": "Text", "type": "text"},
    ],
}


def test_panel_queries_fills_variables_and_builtins_and_skips_hidden_targets() -> None:
    assert panel_queries(SAMPLE, {"namespace": "payments", "__range": "2h"}) == [
        ("Plain", 'x{namespace="payments"}[5m]'),
        ("Nested", "z[2h]"),
    ]


def test_panel_queries_accepts_json_text() -> None:
    assert panel_queries(json.dumps(SAMPLE), {"namespace": "a"}) == [
        ("Plain", 'x{namespace="a"}[5m]'),
        ("Nested", "z[1h]"),
    ]


def test_panel_queries_names_the_panel_of_a_variable_without_a_value() -> None:
    board = {"uid": "u", "panels": [{"title": "P", "targets": [{"refId": "C", "expr": "$nope"}]}]}
    with pytest.raises(KeyError, match=r"dashboard u, panel 'P', target C: no value for .*\$nope"):
        panel_queries(board, {})
