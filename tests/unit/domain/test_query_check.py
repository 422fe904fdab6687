"""domain.query_check: the local parser advises, the server decides."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from okr_operator.domain.evaluation import Action, Plan, next_status
from okr_operator.domain.model import (
    Condition,
    ConditionStatus,
    ConditionType,
    KeyResult,
    KeyResultStatus,
    Problem,
    QueryLanguage,
    Reason,
    Sample,
)
from okr_operator.domain.query_check import QueryCheck, Verdict, check, reconcile, verdict

from .helpers import Q4, ref, utc

pytestmark = pytest.mark.unit

PROMQL, METRICSQL = QueryLanguage.PROMQL, QueryLanguage.METRICSQL
NOW = utc(2026, 11, 23, 10)
LOCAL = "invalid PromQL: unknown function with name 'holt_winters'"
PARSES = KeyResult(
    ref=ref("smooth"), generation=2, objective="o", query="up", target=1.0, baseline=0.0
)
REJECTED_LOCALLY = replace(PARSES, query="holt_winters(x[1h], 0.5, 0.5)", query_error=LOCAL)
DISAGREES = (
    f"the local PromQL parser rejects spec.query ({LOCAL}) but the server evaluated it; the "
    "server decides (the local parser follows Prometheus 3.x and may not know this server's "
    "functions)"
)
SERVER_ERROR = Problem(Reason.QUERY_FAILED, 'bad_data: 1:1: parse error: unknown function "x"')


@pytest.mark.parametrize(
    ("envelope", "heard"),
    [
        pytest.param({"status": "success", "data": {}}, Verdict.EVALUATED, id="success"),
        pytest.param(
            {"status": "error", "errorType": "bad_data", "error": "parse error"},
            Verdict.REJECTED,
            id="Prometheus refuses a query that does not parse",
        ),
        pytest.param(
            {"status": "error", "errorType": "422", "error": "unknown func"},
            Verdict.REJECTED,
            id="VictoriaMetrics refuses a query it cannot execute",
        ),
        pytest.param(
            {"status": "error", "errorType": "execution", "error": "query timed out"},
            Verdict.NO_ANSWER,
            id="an execution failure says nothing about the query's syntax",
        ),
        pytest.param(
            {"status": "error", "errorType": "unreachable", "error": "connection refused"},
            Verdict.NO_ANSWER,
            id="our own transport errors are no answer",
        ),
    ],
)
def test_verdict(envelope: dict[str, Any], heard: Verdict) -> None:
    assert verdict(envelope) == heard


def test_both_parsers_rejecting_a_promql_query_is_invalid_spec_with_both_messages() -> None:
    result = reconcile(SERVER_ERROR, Verdict.REJECTED, kr=REJECTED_LOCALLY, language=PROMQL)
    assert result == Problem(
        Reason.INVALID_SPEC,
        f"KeyResult team-a/smooth: spec.query: {LOCAL}; the server rejects it too: "
        'bad_data: 1:1: parse error: unknown function "x"',
    )


@pytest.mark.parametrize(
    ("kr", "language", "heard"),
    [
        pytest.param(REJECTED_LOCALLY, METRICSQL, Verdict.REJECTED, id="MetricsQL: the server"),
        pytest.param(PARSES, PROMQL, Verdict.REJECTED, id="only the server rejects it"),
        pytest.param(
            REJECTED_LOCALLY, PROMQL, Verdict.NO_ANSWER, id="no answer is no confirmation"
        ),
    ],
)
def test_otherwise_the_servers_answer_stands(
    kr: KeyResult, language: QueryLanguage, heard: Verdict
) -> None:
    assert reconcile(SERVER_ERROR, heard, kr=kr, language=language) == SERVER_ERROR


def test_a_value_is_never_replaced() -> None:
    assert reconcile(Sample(1.0), Verdict.EVALUATED, kr=REJECTED_LOCALLY, language=PROMQL) == (
        Sample(1.0)
    )


@pytest.mark.parametrize(
    ("kr", "language", "heard", "update"),
    [
        pytest.param(
            REJECTED_LOCALLY, PROMQL, Verdict.EVALUATED, QueryCheck(DISAGREES), id="disagrees"
        ),
        pytest.param(
            REJECTED_LOCALLY, PROMQL, Verdict.REJECTED, QueryCheck(None), id="both reject"
        ),
        pytest.param(REJECTED_LOCALLY, PROMQL, Verdict.NO_ANSWER, None, id="no answer: keep"),
        pytest.param(PARSES, PROMQL, Verdict.NO_ANSWER, QueryCheck(None), id="it parses"),
        pytest.param(
            REJECTED_LOCALLY, METRICSQL, Verdict.EVALUATED, QueryCheck(None), id="MetricsQL"
        ),
    ],
)
def test_check(
    kr: KeyResult, language: QueryLanguage, heard: Verdict, update: QueryCheck | None
) -> None:
    assert check(kr, language, heard) == update


def _status(update: QueryCheck | None, previous: KeyResultStatus) -> KeyResultStatus:
    return next_status(
        REJECTED_LOCALLY,
        Q4,
        previous,
        plan=Plan(Action.QUERY, at=NOW),
        observation=Sample(0.5),
        baseline=None,
        now=NOW,
        query_check=update,
    )


def test_a_disagreement_is_a_warning_condition_beside_a_good_evaluation() -> None:
    status = _status(QueryCheck(DISAGREES), KeyResultStatus())
    types = [(c.type, c.status, c.reason) for c in status.conditions]
    assert types == [
        (ConditionType.READY, ConditionStatus.TRUE, "Evaluated"),
        (ConditionType.DATA_AVAILABLE, ConditionStatus.TRUE, "DataReceived"),
        (ConditionType.QUERY_CHECKED, ConditionStatus.FALSE, "LocalParserDisagrees"),
    ]
    assert status.conditions[2] == Condition(
        ConditionType.QUERY_CHECKED, ConditionStatus.FALSE, "LocalParserDisagrees", DISAGREES,
        NOW, 2,
    )  # fmt: skip
    assert (status.value, status.progress) == (0.5, 0.5)


def test_the_condition_goes_when_there_is_nothing_to_say_and_stays_without_an_answer() -> None:
    warned = _status(QueryCheck(DISAGREES), KeyResultStatus())
    assert _status(None, warned).conditions[2].type == ConditionType.QUERY_CHECKED
    assert [c.type for c in _status(QueryCheck(None), warned).conditions] == [
        ConditionType.READY,
        ConditionType.DATA_AVAILABLE,
    ]


def test_server_warnings_are_in_the_ready_message() -> None:
    status = next_status(
        PARSES,
        Q4,
        KeyResultStatus(),
        plan=Plan(Action.QUERY, at=NOW),
        observation=Sample(0.5, warnings=("partial response: store b down",)),
        baseline=None,
        now=NOW,
    )
    assert status.conditions[0].message == (
        "value 0.5 at 2026-11-23T10:00:00Z; the server warned: partial response: store b down"
    )
    assert status.conditions[1].message == "value 0.5 at 2026-11-23T10:00:00Z"
