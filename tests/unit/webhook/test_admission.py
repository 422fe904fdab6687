"""The webhook's decision on one admission request (``handlers.admission.check``).

The rules are ``validate_document``'s, tested in tests/unit/api; here: that the
webhook refuses exactly what it calls an error, with its lines as the message,
and admits the two cases that must not be blocked.
"""

from __future__ import annotations

from typing import Any

import kopf
import pytest

from okr_operator.api.spec import validate_document
from okr_operator.handlers.admission import INVALID, check
from tests.unit.api.helpers import body

pytestmark = pytest.mark.unit

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
