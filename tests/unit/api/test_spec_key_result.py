"""parse_key_result: defaults, inference, and every rule with its complete message."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from okr_operator.api.spec import SpecError, parse_key_result
from okr_operator.domain.model import (
    Direction,
    KeyResult,
    Lags,
    OnEmpty,
    Period,
    QueryLanguage,
    Ref,
    SourceKind,
    SourceRef,
)

from .helpers import NS, body, merged, utc

pytestmark = pytest.mark.unit

MINIMAL: dict[str, Any] = {
    "objectiveRef": {"name": "fast-checkout"},
    "query": (
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"
    ),
    "baseline": 0.45,
    "target": 0.25,
}
REF = Ref(NS, "p95")
Q4_UTC = Period(start=utc(2026, 10, 1), end=utc(2027, 1, 1))


def expected(**changes: Any) -> KeyResult:
    """The KeyResult of MINIMAL, with ``changes``."""
    fields: dict[str, Any] = {
        "ref": REF,
        "generation": 1,
        "objective": "fast-checkout",
        "query": MINIMAL["query"],
        "target": 0.25,
        "direction": Direction.DECREASE,
        "baseline": 0.45,
    }
    fields.update(changes)
    return KeyResult(**fields)


@pytest.mark.parametrize(
    ("spec", "metadata", "result"),
    [
        pytest.param(
            MINIMAL, {}, expected(), id="a minimal spec gets every default and Decrease inferred"
        ),
        pytest.param(
            merged(MINIMAL, baseline=4, target=10),
            {},
            expected(baseline=4.0, target=10.0, direction=Direction.INCREASE),
            id="a target above the baseline infers Increase and integers become floats",
        ),
        pytest.param(
            merged(MINIMAL, baseline=None),
            {},
            expected(baseline=None, direction=None),
            id="without baseline and direction both stay unknown until the baseline is captured",
        ),
        pytest.param(
            merged(MINIMAL, baseline=None, direction="Decrease"),
            {},
            expected(baseline=None, direction=Direction.DECREASE),
            id="without baseline an explicit direction is kept",
        ),
        pytest.param(
            merged(MINIMAL, baseline=0.25, direction="StayBelow"),
            {},
            expected(baseline=0.25, direction=Direction.STAY_BELOW),
            id="StayBelow accepts a baseline equal to the target",
        ),
        pytest.param(
            merged(MINIMAL, baseline=0.1, direction="StayAbove"),
            {},
            expected(baseline=0.1, direction=Direction.STAY_ABOVE),
            id="StayAbove accepts a baseline on either side of the target",
        ),
        pytest.param(
            merged(MINIMAL, query="sum(increase(incidents_total[$__elapsed]))"),
            {},
            expected(query="sum(increase(incidents_total[$__elapsed]))"),
            id="a query with $__elapsed is valid and kept verbatim",
        ),
        pytest.param(
            merged(MINIMAL, interval="10s"),
            {},
            expected(interval=timedelta(seconds=10)),
            id="an interval of exactly 10s is the minimum allowed",
        ),
        pytest.param(
            merged(MINIMAL, interval="1d"),
            {},
            expected(interval=timedelta(days=1)),
            id="an interval in days is a Prometheus duration",
        ),
        pytest.param(
            merged(MINIMAL, period={"quarter": "2026-Q4"}),
            {},
            expected(period=Q4_UTC),
            id="a quarter without time zone is in UTC",
        ),
        pytest.param(
            merged(MINIMAL, period={"quarter": "2026-Q4", "timeZone": "Europe/Berlin"}),
            {},
            expected(
                period=Period(
                    start=utc(2026, 9, 30, 22),  # CEST, UTC+2
                    end=utc(2026, 12, 31, 23),  # CET, UTC+1
                )
            ),
            id="a quarter runs from local midnight to local midnight in its time zone",
        ),
        pytest.param(
            merged(
                MINIMAL,
                period={"start": "2026-10-01T00:00:00+02:00", "end": "2026-11-01T00:00:00Z"},
            ),
            {},
            expected(period=Period(start=utc(2026, 9, 30, 22), end=utc(2026, 11, 1))),
            id="start and end are RFC 3339 with any offset",
        ),
        pytest.param(
            merged(MINIMAL, period={"start": utc(2026, 10, 1), "end": utc(2026, 11, 1)}),
            {},
            expected(period=Period(start=utc(2026, 10, 1), end=utc(2026, 11, 1))),
            id="timestamps that YAML already parsed into datetimes are accepted",
        ),
        pytest.param(
            MINIMAL,
            {"generation": 7, "labels": {"okr.dev/team": "payments", "app": "checkout"}},
            expected(generation=7, labels=MappingProxyType({"team": "payments"})),
            id="generation comes from metadata and only okr.dev/ labels count, prefix stripped",
        ),
        pytest.param(
            MINIMAL,
            {"generation": None},
            expected(),
            id="a missing generation reads as 1",
        ),
    ],
)
def test_valid_key_results(spec: Any, metadata: dict[str, Any], result: KeyResult) -> None:
    document = body("KeyResult", spec, **metadata)
    if metadata.get("generation", 1) is None:
        del document["metadata"]["generation"]
    assert parse_key_result(document) == result


def test_every_field_is_parsed() -> None:
    spec = {
        "objectiveRef": {"name": "fast-checkout"},
        "description": "P95 checkout latency",
        "owner": "payments@example.com",
        "unit": "seconds",
        "query": "up",
        "direction": "Decrease",
        "baseline": 0.45,
        "target": 0.25,
        "weight": 2.5,
        "interval": "1h30m",
        "period": {"quarter": "2026-Q4", "timeZone": "UTC"},
        "sourceRef": {"kind": "ClusterPrometheusSource", "name": "mimir"},
        "onEmpty": "Zero",
        "health": {"atRiskLag": 0.05, "offTrackLag": 0.2},
    }
    assert parse_key_result(body("KeyResult", spec)) == KeyResult(
        ref=REF,
        generation=1,
        objective="fast-checkout",
        query="up",
        target=0.25,
        direction=Direction.DECREASE,
        baseline=0.45,
        weight=2.5,
        interval=timedelta(hours=1, minutes=30),
        period=Period(
            start=utc(2026, 10, 1).astimezone(ZoneInfo("UTC")),
            end=utc(2027, 1, 1).astimezone(ZoneInfo("UTC")),
        ),
        source=SourceRef(SourceKind.CLUSTER_PROMETHEUS_SOURCE, "mimir"),
        on_empty=OnEmpty.ZERO,
        lags=Lags(at_risk=0.05, off_track=0.2),
        description="P95 checkout latency",
        owner="payments@example.com",
        unit="seconds",
        labels=MappingProxyType({}),
    )


P = "KeyResult team-a/p95: "


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            merged(MINIMAL, baseline=300, target=300.0),
            P + "spec.target: must differ from spec.baseline (both 300.0)",
            id="target equal to baseline is refused",
        ),
        pytest.param(
            merged(MINIMAL, direction="Increase"),
            P + "spec.direction: Increase needs spec.target above spec.baseline "
            "(target 0.25, baseline 0.45)",
            id="Increase with the target below the baseline is refused",
        ),
        pytest.param(
            merged(MINIMAL, direction="Decrease", baseline=1, target=2),
            P + "spec.direction: Decrease needs spec.target below spec.baseline "
            "(target 2.0, baseline 1.0)",
            id="Decrease with the target above the baseline is refused",
        ),
        pytest.param(
            merged(MINIMAL, direction="Sideways"),
            P + "spec.direction: input should be 'Increase', 'Decrease', 'StayAbove' or "
            "'StayBelow'",
            id="an unknown direction is refused",
        ),
        pytest.param(
            merged(MINIMAL, interval="9s999ms"),
            P + "spec.interval: must be at least 10s, got 9s999ms",
            id="an interval below 10s is refused",
        ),
        pytest.param(
            merged(MINIMAL, interval="8000y"),
            P + "spec.interval: must be at most 1y (365d), got 8000y",
            id="an interval whose next evaluation is past year 9999 is refused",
        ),
        pytest.param(
            merged(MINIMAL, interval="99999999999y"),
            P + "spec.interval: must be at most 1y (365d), got 99999999999y",
            id="an interval too long for any date type is refused, not an overflow",
        ),
        pytest.param(
            merged(MINIMAL, interval="5 minutes"),
            P + "spec.interval: invalid duration '5 minutes': expected a Prometheus duration "
            "such as '30s', '5m' or '1h30m' (units y, w, d, h, m, s, ms in that order)",
            id="an interval that is no Prometheus duration is refused",
        ),
        pytest.param(
            merged(
                MINIMAL,
                period={
                    "quarter": "2026-Q4",
                    "start": "2026-10-01T00:00:00Z",
                    "end": "2027-01-01T00:00:00Z",
                },
            ),
            P + "spec.period: takes either quarter or start and end, not both",
            id="a period with both quarter and start/end is refused",
        ),
        pytest.param(
            merged(MINIMAL, period={"timeZone": "UTC"}),
            P + "spec.period: needs either quarter or both start and end",
            id="a period with neither quarter nor start/end is refused",
        ),
        pytest.param(
            merged(MINIMAL, period={"start": "2026-10-01T00:00:00Z"}),
            P + "spec.period: needs either quarter or both start and end",
            id="a start without an end is refused",
        ),
        pytest.param(
            merged(
                MINIMAL,
                period={"start": "2026-10-01T00:00:00Z", "end": "2026-10-01T02:00:00+02:00"},
            ),
            P + "spec.period.end: must be after spec.period.start "
            "(2026-10-01T02:00:00+02:00 is not after 2026-10-01T00:00:00+00:00)",
            id="an end at the same instant as the start is refused",
        ),
        pytest.param(
            merged(MINIMAL, period={"quarter": "2026-Q5"}),
            P + "spec.period.quarter: must match ^[0-9]{4}-Q[1-4]$, got '2026-Q5'",
            id="a quarter outside Q1 to Q4 is refused",
        ),
        pytest.param(
            merged(MINIMAL, period={"quarter": "0000-Q1"}),
            P + "spec.period.quarter: invalid quarter '0000-Q1': year 0 is out of range",
            id="a quarter in year zero is refused",
        ),
        pytest.param(
            merged(MINIMAL, period={"quarter": "2026-Q4", "timeZone": "Europe/Atlantis"}),
            P + "spec.period.timeZone: unknown time zone 'Europe/Atlantis': expected an IANA "
            "name such as Europe/Berlin",
            id="an unknown time zone is refused",
        ),
        pytest.param(
            merged(MINIMAL, period={"start": "2026-10-01T00:00:00", "end": "2027-01-01T00:00:00Z"}),
            P + "spec.period.start: input should have timezone info",
            id="a timestamp without offset is refused",
        ),
        pytest.param(
            merged(MINIMAL, period={"start": 1790812800, "end": "2027-01-01T00:00:00Z"}),
            P + "spec.period.start: must be an RFC 3339 timestamp such as 2026-10-01T00:00:00Z",
            id="epoch seconds are not a timestamp",
        ),
        pytest.param(
            merged(MINIMAL, weight=-1),
            P + "spec.weight: input should be greater than or equal to 0",
            id="a negative weight is refused",
        ),
        pytest.param(
            merged(MINIMAL, health={"offTrackLag": 1.5}),
            P + "spec.health.offTrackLag: input should be less than or equal to 1",
            id="a lag above 1 is refused",
        ),
        pytest.param(
            merged(MINIMAL, health={"atRiskLag": -0.1}),
            P + "spec.health.atRiskLag: input should be greater than or equal to 0",
            id="a negative lag is refused",
        ),
        pytest.param(
            merged(MINIMAL, health={"atRiskLag": 0.3}),
            P + "spec.health.atRiskLag: must not exceed spec.health.offTrackLag (0.3 > 0.25)",
            id="atRiskLag above offTrackLag is refused",
        ),
        pytest.param(
            merged(MINIMAL, sourceRef={"kind": "Thanos", "name": "x"}),
            P + "spec.sourceRef.kind: input should be 'PrometheusSource' or "
            "'ClusterPrometheusSource'",
            id="an unknown sourceRef kind is refused",
        ),
        pytest.param(
            merged(MINIMAL, onEmpty="Ignore"),
            P + "spec.onEmpty: input should be 'NoData' or 'Zero'",
            id="an unknown onEmpty is refused",
        ),
        pytest.param(
            merged(MINIMAL, query=""),
            P + "spec.query: string should have at least 1 character",
            id="an empty query is refused",
        ),
        pytest.param(
            merged(MINIMAL, objectiveRef=None, query=None, target=None),
            P + "spec.objectiveRef: is required; spec.target: is required",
            id="objectiveRef and target are required",
        ),
        pytest.param(
            merged(MINIMAL, query=None),
            P + "spec.query: is required, or spec.manual: true for a key result measured by its "
            "check-ins",
            id="a query or manual: true is required",
        ),
        pytest.param(
            merged(MINIMAL, manual=True),
            P + "spec.manual: must not be set together with spec.query: exactly one of them",
            id="query and manual exclude each other",
        ),
        pytest.param(
            merged(MINIMAL, query=None, manual=True, checkIns={"every": "30m"}),
            P + "spec.checkIns.every: must be at least 1h, got 30m",
            id="a check-in cadence of at least an hour",
        ),
        pytest.param(
            merged(MINIMAL, objectiveRef={"name": "o", "namespace": "other"}, treshold=3),
            P + "spec.objectiveRef.namespace: unknown field; spec.treshold: unknown field",
            id="unknown fields are refused at every level",
        ),
        pytest.param(
            merged(MINIMAL, target="0.25"),
            P + "spec.target: input should be a valid number",
            id="a number written as a string is refused as the API server would",
        ),
        pytest.param(
            merged(MINIMAL, baseline=float("nan")),
            P + "spec.baseline: input should be a finite number",
            id="a NaN baseline is refused",
        ),
        pytest.param(
            merged(MINIMAL, baseline=300, target=300, interval="5s", health={"atRiskLag": 0.3}),
            P + "spec.target: must differ from spec.baseline (both 300.0); "
            "spec.interval: must be at least 10s, got 5s; "
            "spec.health.atRiskLag: must not exceed spec.health.offTrackLag (0.3 > 0.25)",
            id="every problem of one object is reported together",
        ),
    ],
)
def test_invalid_key_results(spec: Any, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_key_result(body("KeyResult", spec))
    assert str(caught.value) == message
    assert caught.value.kind == "KeyResult"
    assert caught.value.ref == "team-a/p95"


BROKEN = "sum(rate(http_requests_total[5m])"
UNCLOSED = "invalid PromQL: unclosed left parenthesis"


@pytest.mark.parametrize(
    ("query", "query_error"),
    [
        pytest.param(BROKEN, UNCLOSED, id="a query that does not parse"),
        pytest.param(
            "holt_winters(x[1h], 0.5, 0.5)",
            "invalid PromQL: unknown function with name 'holt_winters'",
            id="a function Prometheus 2.x has and the parser (Prometheus 3.x) lacks",
        ),
        pytest.param(
            "sum(x) default 0", "invalid PromQL: invalid promql query", id="MetricsQL's default"
        ),
        pytest.param("sum(rate(x[$__elapsed]))", None, id="$__elapsed parses as a range"),
    ],
)
def test_the_operator_records_the_local_parsers_verdict_and_parses_anyway(
    query: str, query_error: str | None
) -> None:
    """The server decides (domain.query_check); the parser's message is kept for it."""
    kr = parse_key_result(body("KeyResult", merged(MINIMAL, query=query)))
    assert kr == expected(query=query, query_error=query_error)


def test_for_a_promql_source_a_query_the_parser_rejects_is_a_problem() -> None:
    document = body("KeyResult", merged(MINIMAL, query=BROKEN, interval="1s"))
    with pytest.raises(SpecError) as caught:
        parse_key_result(document, query_language=QueryLanguage.PROMQL)
    assert caught.value.problems == (
        ("spec.query", UNCLOSED),
        ("spec.interval", "must be at least 10s, got 1s"),
    )


def test_for_a_metricsql_source_the_server_decides() -> None:
    document = body("KeyResult", merged(MINIMAL, query="sum(x) default 0"))
    kr = parse_key_result(document, query_language=QueryLanguage.METRICSQL)
    assert kr.query == "sum(x) default 0"


def test_problems_are_field_message_pairs() -> None:
    with pytest.raises(SpecError) as caught:
        parse_key_result(body("KeyResult", merged(MINIMAL, target=0.45, interval="1s")))
    assert caught.value.problems == (
        ("spec.target", "must differ from spec.baseline (both 0.45)"),
        ("spec.interval", "must be at least 10s, got 1s"),
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(
            {"apiVersion": "okr.dev/v1alpha1", "kind": "KeyResult", "metadata": {"name": "p95"}},
            "KeyResult p95: spec: is required",
            id="a key result without spec is refused, named without namespace when it has none",
        ),
        pytest.param(
            {"kind": "KeyResult", "spec": MINIMAL},
            "KeyResult (unnamed): metadata.name: is required",
            id="a key result without name is refused",
        ),
        pytest.param(
            body("KeyResult", MINIMAL, generation="7"),
            "KeyResult team-a/p95: metadata.generation: must be a positive integer, got '7'",
            id="a generation that is not an integer is refused",
        ),
    ],
)
def test_invalid_metadata(document: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_key_result(document)
    assert str(caught.value) == message
