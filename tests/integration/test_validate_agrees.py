"""``validate_document`` (okr validate, the webhook) agrees with the real kube-apiserver
on metadata.name and on nulls (issue 8): each case is applied with a server-side
dry run, and both must accept it or both refuse it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from okr_operator.api.spec import validate_document
from tests.conftest import Kubectl
from tests.unit.api.test_apiserver import ACCEPTED_NAMES, REFUSED_NAMES, objective

pytestmark = pytest.mark.integration

NULL_FIELDS = ["description", "owner", "weight", "parentRef", "title"]


def server_accepts(kubectl: Kubectl, namespace: str, doc: dict[str, Any]) -> tuple[bool, str]:
    doc = {**doc, "metadata": {**doc["metadata"], "namespace": namespace}}
    applied = kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(doc), check=False)
    return applied.returncode == 0, applied.stderr.strip()


@pytest.mark.usefixtures("crds")
@pytest.mark.parametrize("name", REFUSED_NAMES + ACCEPTED_NAMES)
def test_names(kubectl: Kubectl, kube_namespace: str, name: str) -> None:
    doc = objective(name)
    accepted, said = server_accepts(kubectl, kube_namespace, doc)
    problems = validate_document(doc)
    assert accepted == (problems == []), (said, problems)


@pytest.mark.usefixtures("crds")
@pytest.mark.parametrize("field", NULL_FIELDS)
def test_nulls(kubectl: Kubectl, kube_namespace: str, field: str) -> None:
    doc = objective("nulls")
    doc["spec"][field] = None
    accepted, said = server_accepts(kubectl, kube_namespace, doc)
    problems = validate_document(doc)
    assert accepted == (problems == []), (said, problems)
    assert accepted == (field != "title")
