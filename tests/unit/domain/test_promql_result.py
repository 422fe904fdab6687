from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from okr_operator.domain.model import Observation, OnEmpty, Problem, Reason, Sample
from okr_operator.domain.promql_result import format_labels, interpret

pytestmark = pytest.mark.unit

ONE_NUMBER = "a query must yield a scalar or an instant vector with exactly one series"


def success(result_type: str, result: object) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": result_type, "result": result}}


def series(value: str, **labels: str) -> dict[str, Any]:
    return {"metric": labels, "value": [1795000000.123, value]}


@pytest.mark.parametrize(
    ("envelope", "on_empty", "expected"),
    [
        pytest.param(
            success("scalar", [1795000000, "312"]), OnEmpty.NO_DATA, Sample(312.0), id="a scalar"
        ),
        pytest.param(
            success("vector", [series("0.042", job="api")]),
            OnEmpty.NO_DATA,
            Sample(0.042),
            id="one series",
        ),
        pytest.param(
            {**success("vector", [series("7")]), "warnings": ["results truncated"]},
            OnEmpty.NO_DATA,
            Sample(7.0, warnings=("results truncated",)),
            id="warnings do not spoil a value and ride along with it",
        ),
        pytest.param(
            {
                **success("vector", []),
                # What Thanos answers when a store API did not respond (partial response).
                "warnings": [
                    "No StoreAPIs matched for this query",
                    "  store   10.0.0.7:10901 down ",
                ],
            },
            OnEmpty.NO_DATA,
            Problem(
                Reason.NO_DATA,
                "query returned no series; the server warned: No StoreAPIs matched for this "
                "query; store 10.0.0.7:10901 down",
            ),
            id="warnings explain a problem at the end of its message",
        ),
        pytest.param(
            {
                "status": "error",
                "errorType": "execution",
                "error": "query timed out",
                "warnings": ["a", "b", "a", "c", "", "d", "e"],
            },
            OnEmpty.NO_DATA,
            Problem(
                Reason.QUERY_FAILED,
                "execution: query timed out; the server warned: a; b; c and 2 more",
            ),
            id="repeated and empty warnings are dropped, at most three are shown",
        ),
        pytest.param(
            {**success("scalar", [1795000000, "1"]), "warnings": ["x" * 400]},
            OnEmpty.NO_DATA,
            Sample(1.0, warnings=("x" * 297 + "...",)),
            id="a long warning is cut to 300 characters",
        ),
        pytest.param(
            {**success("scalar", [1795000000, "1"]), "warnings": "not a list"},
            OnEmpty.NO_DATA,
            Sample(1.0),
            id="warnings that are not a list are ignored",
        ),
        pytest.param(
            success("vector", []), OnEmpty.ZERO, Sample(0.0), id="empty counts as zero with Zero"
        ),
        pytest.param(
            success("vector", []),
            OnEmpty.NO_DATA,
            Problem(Reason.NO_DATA, "query returned no series"),
            id="empty is no data with NoData",
        ),
        pytest.param(
            success("vector", [series("1", code="500"), series("2", code="503")]),
            OnEmpty.NO_DATA,
            Problem(
                Reason.AMBIGUOUS_RESULT,
                'query returned 2 series, expected one: {code="500"}, {code="503"}',
            ),
            id="two series are ambiguous",
        ),
        pytest.param(
            success("vector", [series(str(i), a=str(i)) for i in (5, 3, 1, 4, 2)]),
            OnEmpty.NO_DATA,
            Problem(
                Reason.AMBIGUOUS_RESULT,
                'query returned 5 series, expected one: {a="1"}, {a="2"}, {a="3"} and 2 more',
            ),
            id="more than one series names three sorted label sets",
        ),
        pytest.param(
            success("vector", [series("NaN")]),
            OnEmpty.NO_DATA,
            Problem(Reason.NOT_A_NUMBER, "query returned NaN"),
            id="NaN is not a number",
        ),
        pytest.param(
            success("scalar", [1, "+Inf"]),
            OnEmpty.NO_DATA,
            Problem(Reason.NOT_A_NUMBER, "query returned +Inf"),
            id="plus infinity is not a number",
        ),
        pytest.param(
            success("vector", [series("-Inf")]),
            OnEmpty.ZERO,
            Problem(Reason.NOT_A_NUMBER, "query returned -Inf"),
            id="minus infinity is not a number",
        ),
        pytest.param(
            {
                "status": "error",
                "errorType": "bad_data",
                "error": 'invalid parameter "query": 1:5: parse error: unexpected "}"',
            },
            OnEmpty.NO_DATA,
            Problem(
                Reason.QUERY_FAILED,
                'bad_data: invalid parameter "query": 1:5: parse error: unexpected "}"',
            ),
            id="Prometheus's own error text",
        ),
        pytest.param(
            {"status": "error", "error": "query timed out in expression evaluation"},
            OnEmpty.NO_DATA,
            Problem(Reason.QUERY_FAILED, "query timed out in expression evaluation"),
            id="an error without a type",
        ),
        pytest.param(
            success("matrix", [{"metric": {}, "values": [[1, "1"], [2, "2"]]}]),
            OnEmpty.NO_DATA,
            Problem(Reason.QUERY_FAILED, f"query returned a range vector; {ONE_NUMBER}"),
            id="a range vector is no number",
        ),
        pytest.param(
            success("string", [1, "hello"]),
            OnEmpty.NO_DATA,
            Problem(Reason.QUERY_FAILED, f"query returned a string; {ONE_NUMBER}"),
            id="a string is no number",
        ),
        pytest.param(
            success("vector", [{"metric": {}, "histogram": [1, {"count": "3"}]}]),
            OnEmpty.NO_DATA,
            Problem(Reason.QUERY_FAILED, f"query returned a native histogram; {ONE_NUMBER}"),
            id="a native histogram is no number",
        ),
    ],
)
def test_interpret(envelope: Mapping[str, Any], on_empty: OnEmpty, expected: Observation) -> None:
    assert interpret(envelope, on_empty=on_empty) == expected


@pytest.mark.parametrize(
    ("envelope", "detail"),
    [
        pytest.param({}, "status None is neither 'success' nor 'error'", id="no status"),
        pytest.param(
            {"status": "partial"},
            "status 'partial' is neither 'success' nor 'error'",
            id="unknown status",
        ),
        pytest.param({"status": "success"}, "'data' is missing or not an object", id="no data"),
        pytest.param(success("table", []), "unknown resultType 'table'", id="unknown result type"),
        pytest.param(
            success("vector", {}), "vector 'result' is not a list", id="result not a list"
        ),
        pytest.param(
            success("vector", ["x"]), "vector series is not an object", id="series not an object"
        ),
        pytest.param(
            success("vector", [{"metric": {}}]),
            "sample None is not a [time, value] pair",
            id="no value",
        ),
        pytest.param(
            success("scalar", [1]), "sample [1] is not a [time, value] pair", id="short pair"
        ),
        pytest.param(
            success("scalar", [1, 2.5]), "sample value 2.5 is not a string", id="unquoted value"
        ),
        pytest.param(
            success("scalar", [1, "lots"]), "sample value 'lots' is not a number", id="garbage"
        ),
        pytest.param(
            success("vector", [{"metric": [], "value": [1, "1"]}, series("2")]),
            "series 'metric' is not an object",
            id="labels not an object",
        ),
    ],
)
def test_interpret_reports_a_malformed_envelope_as_a_failed_query(
    envelope: Mapping[str, Any], detail: str
) -> None:
    expected = Problem(Reason.QUERY_FAILED, f"malformed response from Prometheus: {detail}")
    assert interpret(envelope, on_empty=OnEmpty.NO_DATA) == expected


def test_interpret_reports_a_body_that_is_no_object() -> None:
    body: Any = ["not", "an", "object"]
    assert interpret(body, on_empty=OnEmpty.ZERO) == Problem(
        Reason.QUERY_FAILED, "malformed response from Prometheus: expected a JSON object, got list"
    )


@pytest.mark.parametrize(
    ("labels", "text"),
    [
        pytest.param({}, "{}", id="no labels"),
        pytest.param(
            {"code": "500", "__name__": "http_requests_total", "Zone": "eu"},
            '{Zone="eu", __name__="http_requests_total", code="500"}',
            id="sorted by name as Prometheus sorts bytes",
        ),
        pytest.param(
            {"path": 'a"b\\c\nd'},
            '{path="a\\"b\\\\c\\nd"}',
            id="quotes, backslashes and newlines escaped",
        ),
    ],
)
def test_format_labels(labels: dict[str, str], text: str) -> None:
    assert format_labels(labels) == text
