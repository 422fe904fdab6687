"""validate_document: the CLI's check of one YAML document."""

from __future__ import annotations

from typing import Any

import pytest

from okr_operator.api.spec import query_language_for, validate_document
from okr_operator.domain.model import QueryLanguage

from .helpers import NS, body

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
                "KeyResult, Objective, CheckIn, PrometheusSource, ClusterPrometheusSource"
            ],
            id="an unknown kind in our group is a problem",
        ),
        pytest.param(
            {"apiVersion": "okr.dev/v1alpha1", "metadata": {"name": "x"}},
            [
                "(no kind) x: kind: unknown kind None in okr.dev, expected one of "
                "KeyResult, Objective, CheckIn, PrometheusSource, ClusterPrometheusSource"
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


BROKEN = {**KEY_RESULT_SPEC, "query": "sum(x) default 0"}
LOCAL_ERROR = "KeyResult team-a/p95: spec.query: invalid PromQL: invalid promql query"


def test_a_query_the_local_parser_rejects_is_a_problem_for_promql_sources_only() -> None:
    document = body("KeyResult", BROKEN)
    assert validate_document(document) == [LOCAL_ERROR]
    assert validate_document(document, query_language=QueryLanguage.PROMQL) == [LOCAL_ERROR]
    assert validate_document(document, query_language=QueryLanguage.METRICSQL) == []


def test_other_problems_are_reported_whatever_the_language() -> None:
    document = body("KeyResult", {**BROKEN, "interval": "1s"})
    assert validate_document(document, query_language=QueryLanguage.METRICSQL) == [
        "KeyResult team-a/p95: spec.interval: must be at least 10s, got 1s"
    ]


def test_an_unknown_query_language_is_a_problem_of_the_source() -> None:
    document = body(
        "PrometheusSource", {"url": "http://vm:8428", "queryLanguage": "LogQL"}, name="p"
    )
    assert validate_document(document) == [
        "PrometheusSource team-a/p: spec.queryLanguage: input should be 'PromQL' or 'MetricsQL'"
    ]


def _source(
    kind: str, name: str, language: str | None, namespace: str | None = NS
) -> dict[str, Any]:
    spec: dict[str, Any] = {"url": "http://vm:8428"}
    if language is not None:
        spec["queryLanguage"] = language
    doc = body(kind, spec, name=name)
    if namespace is None:
        del doc["metadata"]["namespace"]
    else:
        doc["metadata"]["namespace"] = namespace
    return doc


def _key_result(kind: str | None, name: str = "vm", namespace: str | None = NS) -> dict[str, Any]:
    spec = dict(KEY_RESULT_SPEC)
    if kind is not None:
        spec["sourceRef"] = {"kind": kind, "name": name}
    doc = body("KeyResult", spec)
    if namespace is None:
        del doc["metadata"]["namespace"]
    else:
        doc["metadata"]["namespace"] = namespace
    return doc


PS, CPS = "PrometheusSource", "ClusterPrometheusSource"
SOURCES = [
    _source(PS, "vm", "MetricsQL"),
    _source(PS, "prom", None),
    _source(PS, "vm", "PromQL", namespace="elsewhere"),
    _source(CPS, "vm", "MetricsQL", namespace=None),
    _source(PS, "bare", "MetricsQL", namespace=None),
    {
        "apiVersion": "v1",
        "kind": PS,
        "metadata": {"name": "foreign"},
        "spec": {"queryLanguage": "MetricsQL"},
    },
]


@pytest.mark.parametrize(
    ("key_result", "default", "language"),
    [
        pytest.param(
            _key_result(PS), QueryLanguage.PROMQL, "MetricsQL", id="a source in the files"
        ),
        pytest.param(
            _key_result(PS, "prom"), QueryLanguage.METRICSQL, "PromQL", id="unset is PromQL"
        ),
        pytest.param(_key_result(CPS), QueryLanguage.PROMQL, "MetricsQL", id="a cluster source"),
        pytest.param(
            _key_result(PS, "bare"),
            QueryLanguage.PROMQL,
            "MetricsQL",
            id="a source without namespace",
        ),
        pytest.param(
            _key_result(PS, "vm", namespace=None),
            QueryLanguage.PROMQL,
            "MetricsQL",
            id="a key result without namespace takes the first of that name",
        ),
        pytest.param(
            _key_result(None), QueryLanguage.METRICSQL, "MetricsQL", id="no sourceRef: the default"
        ),
        pytest.param(
            _key_result(PS, "absent"),
            QueryLanguage.PROMQL,
            "PromQL",
            id="not in the files: the default",
        ),
        pytest.param(
            _key_result(PS, "foreign"),
            QueryLanguage.PROMQL,
            "PromQL",
            id="another group's kind is no source",
        ),
    ],
)
def test_query_language_for(
    key_result: dict[str, Any], default: QueryLanguage, language: str
) -> None:
    assert query_language_for(key_result, SOURCES, default=default) == QueryLanguage(language)


def test_a_source_in_another_namespace_is_not_the_one() -> None:
    key_result = _key_result(PS, "vm", namespace="elsewhere")
    found = query_language_for(key_result, SOURCES[2:3], default=QueryLanguage.METRICSQL)
    assert found == QueryLanguage.PROMQL
    assert query_language_for(key_result, SOURCES[:1]) == QueryLanguage.PROMQL
    assert query_language_for(key_result, SOURCES[:1], default=QueryLanguage.METRICSQL) == (
        QueryLanguage.METRICSQL
    )
