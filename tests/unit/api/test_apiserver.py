"""``okr validate`` and the webhook apply what kube-apiserver applies first (issue 8).

The cases are the ones the bench's kube-apiserver was seen to refuse or accept;
tests/integration/test_validate_agrees.py applies each to it.
"""

from __future__ import annotations

from typing import Any

import pytest

from okr_operator.api.spec import validate_document

pytestmark = pytest.mark.unit

REFUSED_NAMES = ["Bad_Name", "UPPER", "a..b", "-a", "a-", "a.", "a b", "a" * 254, ".", "..", "a/b"]
ACCEPTED_NAMES = ["ok", "a.b", "1a", "a" * 253, "checkout-latency.q4"]


def objective(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "okr.dev/v1alpha1",
        "kind": "Objective",
        "metadata": {"name": name, "namespace": "team"},
        "spec": {"title": "T", "period": {"quarter": "2026-Q4"}, **spec},
    }


@pytest.mark.parametrize("name", REFUSED_NAMES)
def test_a_name_the_api_server_refuses_is_an_error(name: str) -> None:
    problems = validate_document(objective(name))
    assert len(problems) == 1, problems
    assert ": metadata.name: " in problems[0], problems


@pytest.mark.parametrize("name", ACCEPTED_NAMES)
def test_a_name_the_api_server_accepts_passes(name: str) -> None:
    assert validate_document(objective(name)) == []


def test_the_message_says_what_a_name_may_be() -> None:
    (problem,) = validate_document(objective("Bad_Name"))
    assert problem == (
        "Objective team/Bad_Name: metadata.name: must be a lowercase RFC 1123 subdomain: "
        "lower case letters, digits, '-' and '.', starting and ending with a letter or digit "
        "(such as 'checkout-latency'), got 'Bad_Name'"
    )


@pytest.mark.parametrize("field", ["description", "owner", "weight", "parentRef"])
def test_a_null_optional_field_is_absent_as_on_the_api_server(field: str) -> None:
    assert validate_document(objective("ok", **{field: None})) == []


def test_a_null_required_field_is_missing_as_on_the_api_server() -> None:
    doc = objective("ok")
    doc["spec"]["title"] = None
    (problem,) = validate_document(doc)
    assert "spec.title" in problem, problem
