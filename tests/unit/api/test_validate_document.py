"""validate_document: the CLI's check of one YAML document."""

from __future__ import annotations

from typing import Any

import pytest

from okr_operator.api.spec import validate_document

from .helpers import body

pytestmark = pytest.mark.unit

KEY_RESULT_SPEC = {"objectiveRef": {"name": "o"}, "query": "up", "baseline": 0, "target": 1}


@pytest.mark.parametrize(
    ("document", "problems"),
    [
        pytest.param(body("KeyResult", KEY_RESULT_SPEC), [], id="a valid key result has none"),
        pytest.param(
            body("Objective", {"title": "t", "period": {"quarter": "2026-Q4"}}, name="o"),
            [],
            id="a valid objective has none",
        ),
        pytest.param(
            body("PrometheusSource", {"url": "http://prometheus:9090"}, name="p"),
            [],
            id="a valid PrometheusSource has none",
        ),
        pytest.param(
            body("ClusterPrometheusSource", {"url": "http://prometheus:9090"}, name="p"),
            [],
            id="a valid ClusterPrometheusSource has none",
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {}},
            [],
            id="core objects are not ours and pass",
        ),
        pytest.param(
            {"apiVersion": "pyrra.dev/v1alpha1", "kind": "ServiceLevelObjective"},
            [],
            id="objects of other groups pass",
        ),
        pytest.param({"kind": "KeyResult"}, [], id="a document without apiVersion is not ours"),
        pytest.param(
            body("KeyResult", {**KEY_RESULT_SPEC, "target": 0, "interval": "1s"}),
            [
                "KeyResult team-a/p95: spec.target: must differ from spec.baseline (both 0.0)",
                "KeyResult team-a/p95: spec.interval: must be at least 10s, got 1s",
            ],
            id="each problem is one line naming the object and the field",
        ),
        pytest.param(
            {**body("Goal", {}), "kind": "Goal"},
            [
                "Goal team-a/p95: kind: unknown kind 'Goal' in okr.dev, expected one of "
                "KeyResult, Objective, PrometheusSource, ClusterPrometheusSource"
            ],
            id="an unknown kind in our group is a problem",
        ),
        pytest.param(
            {"apiVersion": "okr.dev/v1alpha1", "metadata": {"name": "x"}},
            [
                "(no kind) x: kind: unknown kind None in okr.dev, expected one of "
                "KeyResult, Objective, PrometheusSource, ClusterPrometheusSource"
            ],
            id="a document of our group without kind is a problem",
        ),
        pytest.param(
            {**body("KeyResult", KEY_RESULT_SPEC), "apiVersion": "okr.dev/v1"},
            [
                "KeyResult team-a/p95: apiVersion: unknown version 'okr.dev/v1', expected "
                "okr.dev/v1alpha1"
            ],
            id="an unknown version of our group is a problem",
        ),
    ],
)
def test_validate_document(document: dict[str, Any], problems: list[str]) -> None:
    assert validate_document(document) == problems
