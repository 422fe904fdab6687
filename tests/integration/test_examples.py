"""Every file in examples/ is accepted by the real API server and by the operator.

Users copy these files, so they are tested like code: server-side dry-run apply
against the CRDs from crds/ (schema, CEL rules), parsing with the operator's own
spec parser, and every metric a query uses is served by the demo exporter (so
``make demo`` can evaluate every key result).
"""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from okr_operator.api.spec import parse_check_in, parse_key_result, parse_objective
from tests.conftest import Kubectl
from tests.support.processes import start_http_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NAMESPACES = EXAMPLES / "00-namespaces.yaml"
# Not objects of this cluster: an Alertmanager configuration, and Argo CD
# Applications whose CRDs only an Argo CD installation brings.
NOT_FOR_THIS_CLUSTER = {
    "alertmanager": "an Alertmanager configuration file, not a Kubernetes object",
    "argocd": "Argo CD objects: their CRDs come with Argo CD, which the bench does not run",
}


def _example_files() -> list[Any]:
    params = []
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        relative = path.relative_to(EXAMPLES)
        reason = NOT_FOR_THIS_CLUSTER.get(relative.parts[0])
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(path, id=str(relative), marks=marks))
    return params


def _okr_documents() -> list[Any]:
    params = []
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        relative = path.relative_to(EXAMPLES)
        if relative.parts[0] in NOT_FOR_THIS_CLUSTER:
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("apiVersion") == "okr.dev/v1alpha1":
                name = f"{relative}#{doc['kind']}/{doc['metadata']['name']}"
                params.append(pytest.param(doc, id=name))
    return params


# Templates to copy (examples/templates/): applied and parsed like every example,
# but not part of the demo's organisation and not served by the demo exporter.
TEMPLATES = "templates"


def _demo_documents() -> list[Any]:
    return [p for p in _okr_documents() if not p.id.startswith(f"{TEMPLATES}/")]


def _key_results() -> list[dict[str, Any]]:
    return [p.values[0] for p in _demo_documents() if p.values[0]["kind"] == "KeyResult"]


@pytest.fixture(scope="module")
def with_crds_and_namespaces(kubectl: Kubectl) -> None:
    """The CRDs and the examples' namespaces, really applied (both idempotent).

    A server-side dry run of an object in a namespace needs the namespace to
    exist, and the namespaces are themselves one of the example files.
    """
    kubectl("apply", "-f", str(ROOT / "crds"))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(ROOT / "crds"))
    kubectl("apply", "-f", str(NAMESPACES))


@pytest.mark.parametrize("path", _example_files())
@pytest.mark.usefixtures("with_crds_and_namespaces")
def test_the_api_server_accepts_the_example(kubectl: Kubectl, path: Path) -> None:
    result = kubectl("apply", "--dry-run=server", "-f", str(path), check=False)
    assert result.returncode == 0, result.stderr
    expected = [
        f"{doc['kind'].lower()}{_group_suffix(doc)}/{doc['metadata']['name']}"
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    lines = result.stdout.splitlines()
    assert [line.split(" ")[0] for line in lines] == expected
    assert all(line.endswith("(server dry run)") for line in lines), result.stdout


def _group_suffix(doc: dict[str, Any]) -> str:
    api_version: str = doc["apiVersion"]
    return "." + api_version.split("/", maxsplit=1)[0] if "/" in api_version else ""


@pytest.mark.parametrize("doc", _okr_documents())
def test_the_operator_parses_the_example(doc: dict[str, Any]) -> None:
    if doc["kind"] == "KeyResult":
        kr = parse_key_result(doc)
        assert (kr.ref.namespace, kr.ref.name) == (
            doc["metadata"]["namespace"],
            doc["metadata"]["name"],
        )
        assert kr.labels == {"team": doc["metadata"]["labels"]["okr.dev/team"]}
    elif doc["kind"] == "Objective":
        objective = parse_objective(doc)
        assert objective.title == doc["spec"]["title"]
        assert objective.labels == {"team": doc["metadata"]["labels"]["okr.dev/team"]}
    elif doc["kind"] == "CheckIn":
        check_in = parse_check_in(doc)
        assert check_in.key_result == doc["spec"]["keyResultRef"]["name"]
        assert check_in.time == datetime.fromisoformat(doc["spec"]["time"])  # explicit in examples
    else:
        pytest.fail(f"examples hold a {doc['kind']}: add it to this test")


def test_the_examples_hold_the_organisation_the_demo_shows() -> None:
    kinds = sorted(
        (p.values[0]["kind"], p.values[0]["metadata"]["name"]) for p in _demo_documents()
    )
    assert kinds == [
        ("CheckIn", "labels-audited-2026-11-06"),
        ("CheckIn", "labels-audited-2026-11-27"),
        ("CheckIn", "model-refresh-time-2026-11-27"),
        ("KeyResult", "change-failure-rate"),
        ("KeyResult", "checkout-availability"),
        ("KeyResult", "checkout-p95-latency"),
        ("KeyResult", "customer-facing-incidents"),
        ("KeyResult", "data-drift-alerts"),
        ("KeyResult", "deployment-lead-time"),
        ("KeyResult", "labels-audited"),
        ("KeyResult", "model-refresh-time"),
        ("KeyResult", "oncall-escalations"),
        ("Objective", "customers-can-rely-on-us"),
        ("Objective", "customers-dont-notice-incidents"),
        ("Objective", "fast-safe-delivery"),
        ("Objective", "fresh-trustworthy-models"),
        ("Objective", "ship-faster"),
    ]


def _metric_names(query: str) -> set[str]:
    names: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    # $__elapsed is the operator's placeholder; any duration parses the same.
    promql_parser.walk(promql_parser.parse(query.replace("$__elapsed", "1m")), visit)
    return names


@pytest.fixture(scope="module")
def served_metric_names(tmp_path_factory: pytest.TempPathFactory) -> Iterator[set[str]]:
    exporter = ROOT / "hack" / "demo_exporter.py"
    with start_http_server(
        "demo-exporter",
        lambda port: [sys.executable, str(exporter), "--port", str(port)],
        tmp_path_factory.mktemp("demo-exporter"),
        ready_path="/metrics",
    ) as running:
        with urllib.request.urlopen(f"{running.url}/metrics", timeout=10) as response:  # noqa: S310 - loopback
            text = response.read().decode()
        yield {
            sample.name
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }


def test_the_demo_exporter_serves_every_metric_the_examples_query(
    served_metric_names: set[str],
) -> None:
    queried = set().union(
        *(_metric_names(kr["spec"]["query"]) for kr in _key_results() if "query" in kr["spec"])
    )
    assert queried == {
        "data_drift_detections_total",
        "deployment_lead_time_seconds_bucket",
        "deployments_total",
        "http_request_duration_seconds_bucket",
        "http_requests_total",
        "incidents_total",
        "model_refresh_duration_seconds",
        "oncall_escalations_total",
    }
    assert queried - served_metric_names == set()
