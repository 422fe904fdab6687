"""The webhook's decision on one admission request (``handlers.admission.check``).

The rules are ``validate_document``'s, tested in tests/unit/api; here: that the
webhook refuses exactly what it calls an error, with its lines as the message,
and admits the two cases that must not be blocked.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import kopf
import pytest

from okr_operator.api.spec import validate_document
from okr_operator.domain.model import QueryLanguage, SourceKind, SourceRef
from okr_operator.handlers.admission import (
    INVALID,
    UNKNOWN_SOURCE,
    Admission,
    RefusalsAreNotErrors,
    WebhookServing,
    check,
)
from tests.unit.api.helpers import body

pytestmark = pytest.mark.unit

SERVING = WebhookServing("127.0.0.1", 9443, Path("tls.crt"), Path("tls.key"), None)
GOOD_SPEC: dict[str, Any] = {
    "objectiveRef": {"name": "fast-checkout"},
    "query": "sum(rate(http_requests_total[5m]))",
    "baseline": 100,
    "target": 300,
}
# Three problems the schema cannot see: PromQL, equal target and baseline, a 5s interval.
BAD_SPEC: dict[str, Any] = {
    **GOOD_SPEC,
    "query": "sum(rate(x[5m])",
    "target": 100,
    "interval": "5s",
}


def test_a_valid_key_result_should_be_admitted_without_warnings() -> None:
    assert check("CREATE", body("KeyResult", GOOD_SPEC), None) == []


def test_an_invalid_key_result_should_be_refused_with_every_problem_of_validate() -> None:
    bad = body("KeyResult", BAD_SPEC)
    with pytest.raises(kopf.AdmissionError) as refused:
        check("CREATE", bad, None)
    problems = validate_document(bad)
    assert len(problems) == 3
    assert str(refused.value) == "; ".join(problems)
    assert refused.value.code == INVALID == 422


def test_the_message_should_name_the_object_and_the_field() -> None:
    bad = body(
        "Objective",
        {"title": "Fast", "period": {"quarter": "2026-Q4", "timeZone": "Mars/Olympus"}},
        name="fast",
    )
    with pytest.raises(kopf.AdmissionError) as refused:
        check("CREATE", bad, None)
    assert str(refused.value).startswith("Objective team-a/fast: spec.period.timeZone: ")


@pytest.mark.parametrize(
    "kind", ["KeyResult", "Objective", "PrometheusSource", "ClusterPrometheusSource"]
)
def test_every_kind_should_be_refused_when_validate_finds_an_error(kind: str) -> None:
    bad = body(kind, {"unknownField": 1})
    assert validate_document(bad), "the case must be an error for validate"
    with pytest.raises(kopf.AdmissionError):
        check("CREATE", bad, None)


def test_an_update_that_keeps_an_invalid_spec_should_be_admitted_with_warnings() -> None:
    # An object created before the webhook existed must still take new labels.
    old = body("KeyResult", BAD_SPEC)
    new = body("KeyResult", BAD_SPEC, labels={"okr.dev/team": "payments"})
    warnings = check("UPDATE", new, old)
    assert warnings == [
        f"{line} (admitted: the spec did not change)" for line in validate_document(new)
    ]


def test_an_update_that_changes_an_invalid_spec_should_be_refused() -> None:
    old = body("KeyResult", BAD_SPEC)
    new = body("KeyResult", {**BAD_SPEC, "baseline": 50})
    with pytest.raises(kopf.AdmissionError):
        check("UPDATE", new, old)


def test_an_object_being_deleted_should_be_admitted_so_its_finalizers_can_go() -> None:
    new = body("KeyResult", BAD_SPEC, deletionTimestamp="2026-12-02T07:00:00Z", finalizers=[])
    # The old spec differs too: being deleted is reason enough.
    old = body("KeyResult", {**BAD_SPEC, "baseline": 50}, finalizers=["example.com/x"])
    warnings = check("UPDATE", new, old)
    assert warnings == [
        f"{line} (admitted: the object is being deleted)" for line in validate_document(new)
    ]


METRICSQL_ONLY = "sum(rate(http_requests_total[5m])) default 0"


def test_a_metricsql_query_should_be_admitted_for_a_metricsql_source_only() -> None:
    doc = body("KeyResult", {**GOOD_SPEC, "query": METRICSQL_ONLY})
    assert check("CREATE", doc, None, query_language=QueryLanguage.METRICSQL) == []
    with pytest.raises(kopf.AdmissionError) as refused:
        check("CREATE", doc, None, query_language=QueryLanguage.PROMQL)
    [problem] = validate_document(doc)
    assert problem.startswith("KeyResult team-a/p95: spec.query: ")
    assert str(refused.value) == problem


def test_a_source_the_operator_has_not_seen_should_be_checked_as_promql_and_say_so() -> None:
    doc = body("KeyResult", {**GOOD_SPEC, "query": METRICSQL_ONLY})
    with pytest.raises(kopf.AdmissionError) as refused:
        check("CREATE", doc, None, query_language=None)
    [problem] = validate_document(doc)
    assert str(refused.value) == f"{problem} ({UNKNOWN_SOURCE})"


def test_an_unseen_source_should_not_be_blamed_for_problems_of_other_fields() -> None:
    doc = body("KeyResult", {**GOOD_SPEC, "target": 100})
    with pytest.raises(kopf.AdmissionError) as refused:
        check("CREATE", doc, None, query_language=None)
    assert str(refused.value) == "; ".join(validate_document(doc))


@pytest.mark.parametrize(
    ("source_ref", "known", "asked", "language"),
    [
        pytest.param(
            None, QueryLanguage.METRICSQL, None, QueryLanguage.METRICSQL, id="the default source"
        ),
        pytest.param(
            {"kind": "PrometheusSource", "name": "vm"},
            QueryLanguage.METRICSQL,
            SourceRef(SourceKind.PROMETHEUS_SOURCE, "vm"),
            QueryLanguage.METRICSQL,
            id="a namespaced source it knows",
        ),
        pytest.param(
            {"kind": "ClusterPrometheusSource", "name": "thanos"},
            None,
            SourceRef(SourceKind.CLUSTER_PROMETHEUS_SOURCE, "thanos"),
            None,
            id="a cluster source it has not seen",
        ),
    ],
)  # fmt: skip
def test_the_language_should_come_from_the_operators_knowledge_of_sources(
    source_ref: dict[str, str] | None,
    known: QueryLanguage | None,
    asked: SourceRef | None,
    language: QueryLanguage | None,
) -> None:
    questions: list[tuple[str, SourceRef | None]] = []

    def language_of(namespace: str, source: SourceRef | None) -> QueryLanguage | None:
        questions.append((namespace, source))
        return known

    admission = Admission(SERVING, language_of=language_of, warnings_of=lambda _: [])
    spec = {**GOOD_SPEC, **({"sourceRef": source_ref} if source_ref else {})}
    assert admission.query_language(body("KeyResult", spec)) == language
    assert questions == [("team-a", asked)]


def test_a_malformed_source_ref_should_be_checked_as_promql_without_asking() -> None:
    admission = Admission(
        SERVING, language_of=lambda *_: pytest.fail("asked"), warnings_of=lambda _: []
    )
    spec = {**GOOD_SPEC, "sourceRef": {"kind": "Thanos", "name": "x"}}
    assert admission.query_language(body("KeyResult", spec)) == QueryLanguage.PROMQL


def test_a_refusal_should_be_logged_at_info_and_a_crash_stay_an_error() -> None:
    logger = logging.getLogger("kopf.objects.test-refusals")
    logger.propagate = False
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    logger.addFilter(RefusalsAreNotErrors())
    logger.error("Webhook 'validate-keyresult' failed permanently: KeyResult team-a/p95: bad")
    logger.error("Webhook 'validate-objective' failed with an exception. Will stop.")
    logger.error("Handler 'other' failed permanently: not ours")
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("INFO", "admission refused: KeyResult team-a/p95: bad"),
        ("ERROR", "Webhook 'validate-objective' failed with an exception. Will stop."),
        ("ERROR", "Handler 'other' failed permanently: not ours"),
    ]
