"""The chart against the real kube-apiserver of the bench, and kubeconform.

- Server-side dry run: the API server validates every rendered object with its own
  schemas (built-in kinds, and our CRDs' structural schemas and CEL rules).
- A real ``helm install``: the RBAC it creates is asked, through the API server's
  own authorizer, exactly what the operator's ServiceAccount may and may not do.
- kubeconform with schemas generated from crds/: the okr.dev objects in examples/
  are valid and unknown fields are rejected. kubeconform has no offline schemas for
  built-in kinds, so it skips those; the server dry run covers them.

Not covered here: ServiceMonitor and PrometheusRule (the bench runs no
prometheus-operator, so neither its CRDs nor schemas exist); their rendering is
checked in tests/unit/test_helm.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Kubectl
from tests.support.bench import Bench
from tests.support.helm import CHART_DIR, CRDS_DIR, REPO_ROOT, documents, helm, render
from tests.support.kubeconform import crd_json_schemas, kubeconform

pytestmark = pytest.mark.integration

DRY_RUN_LINE = re.compile(
    r"^(?P<resource>[^/\s]+)/(?P<name>\S+) (created|configured|unchanged) \(server dry run\)$"
)


def test_rendered_chart_should_pass_a_server_side_dry_run_and_pod_security_restricted(
    kubectl: Kubectl, kube_namespace: str, tmp_path: Path
) -> None:
    values = {
        "fullnameOverride": kube_namespace,
        "operator": {"prometheusUrl": "http://prometheus.monitoring.svc:9090"},
        "grafana": {"dashboards": {"enabled": True}},
        "digest": {"enabled": True, "webhookSecret": {"name": "slack-webhook"}},
    }
    rendered = render(values, namespace=kube_namespace, tmp_dir=tmp_path)
    # The PodSecurity admission plugin warns about a Deployment whose pods the
    # "restricted" level would refuse; the chart's pod must pass it.
    kubectl("label", "namespace", kube_namespace, "pod-security.kubernetes.io/warn=restricted")
    done = kubectl("apply", "--dry-run=server", "-f", "-", input=rendered)
    assert "PodSecurity" not in done.stderr, done.stderr
    accepted = sorted(
        match["name"] for line in done.stdout.splitlines() if (match := DRY_RUN_LINE.match(line))
    )
    assert accepted == sorted(doc["metadata"]["name"] for doc in documents(rendered)), done.stdout


def _can_i(kubectl: Kubectl, user: str, verb: str, resource: str, namespace: str) -> bool:
    resource, _, subresource = resource.partition("/")
    args = ["auth", "can-i", verb, resource, f"--as={user}", "-n", namespace]
    if subresource:
        args.append(f"--subresource={subresource}")
    done = kubectl(*args, check=False)
    assert done.stdout.strip() in {"yes", "no"}, done.stderr
    return done.stdout.strip() == "yes"


def _can_i_named(kubectl: Kubectl, user: str, verb: str, resource_and_name: str) -> bool:
    done = kubectl("auth", "can-i", verb, resource_and_name, f"--as={user}", check=False)
    assert done.stdout.strip() in {"yes", "no"}, done.stderr
    return done.stdout.strip() == "yes"


# (verb, resource) -> allowed, for the operator with --all-namespaces. Everything the
# operator needs, and the nearest things it must not get.
EXPECTED_ACCESS: dict[tuple[str, str], bool] = {
    ("get", "keyresults.okr.dev"): True,
    ("list", "keyresults.okr.dev"): True,
    ("watch", "keyresults.okr.dev"): True,
    ("patch", "keyresults.okr.dev/status"): True,
    ("update", "keyresults.okr.dev/status"): False,
    ("patch", "keyresults.okr.dev"): False,
    ("update", "keyresults.okr.dev"): False,
    ("create", "keyresults.okr.dev"): False,
    ("delete", "keyresults.okr.dev"): False,
    ("list", "objectives.okr.dev"): True,
    ("watch", "objectives.okr.dev"): True,
    ("patch", "objectives.okr.dev/status"): True,
    ("patch", "objectives.okr.dev"): False,
    ("delete", "objectives.okr.dev"): False,
    ("list", "prometheussources.okr.dev"): True,
    ("watch", "prometheussources.okr.dev"): True,
    ("patch", "prometheussources.okr.dev"): False,
    ("list", "clusterprometheussources.okr.dev"): True,
    ("patch", "clusterprometheussources.okr.dev"): False,
    ("create", "events"): True,
    ("patch", "events"): False,
    ("delete", "events"): False,
    ("get", "secrets"): True,
    ("list", "secrets"): False,
    ("watch", "secrets"): False,
    ("get", "configmaps"): True,
    ("list", "configmaps"): False,
    ("list", "customresourcedefinitions.apiextensions.k8s.io"): True,
    ("watch", "customresourcedefinitions.apiextensions.k8s.io"): True,
    ("create", "customresourcedefinitions.apiextensions.k8s.io"): False,
    ("patch", "customresourcedefinitions.apiextensions.k8s.io"): False,
    ("list", "namespaces"): False,
    ("create", "leases.coordination.k8s.io"): False,
    ("list", "pods"): False,
}


def test_installed_rbac_should_grant_the_operator_exactly_what_it_needs(
    bench: Bench, kubectl: Kubectl, kube_namespace: str
) -> None:
    # crds.install=false: the CRDs are shared by every test on the bench; the release
    # must not take them over. fullnameOverride keeps the ClusterRole's name unique.
    release = "okr"
    kubeconfig = f"--kubeconfig={bench.kubeconfig}"
    helm(
        "install", release, str(CHART_DIR), "--namespace", kube_namespace, kubeconfig,
        "--set", "crds.install=false", "--set", f"fullnameOverride={kube_namespace}",
    )  # fmt: skip
    try:
        user = f"system:serviceaccount:{kube_namespace}:{kube_namespace}"
        # Another namespace than the operator's: the grants are cluster-wide (-A).
        access = {
            (verb, resource): _can_i(kubectl, user, verb, resource, "default")
            for verb, resource in EXPECTED_ACCESS
        }
        assert access == EXPECTED_ACCESS
        # The CA bundle of the release's own webhook configuration, and of no other.
        webhook_access = {
            (verb, name): _can_i_named(
                kubectl, user, verb, f"validatingwebhookconfigurations/{name}"
            )
            for verb in ("get", "patch", "update", "delete")
            for name in (kube_namespace, "another-webhook")
        }
        assert webhook_access == {
            ("get", kube_namespace): True,
            ("patch", kube_namespace): True,
            ("update", kube_namespace): False,
            ("delete", kube_namespace): False,
            ("get", "another-webhook"): False,
            ("patch", "another-webhook"): False,
            ("update", "another-webhook"): False,
            ("delete", "another-webhook"): False,
        }
        for verb in ("create", "list", "watch"):
            assert not _can_i(kubectl, user, verb, "validatingwebhookconfigurations", "default")
        deployment = yaml.safe_load(
            kubectl("get", "deployment", kube_namespace, "-n", kube_namespace, "-o", "yaml").stdout
        )
        assert (deployment["spec"]["replicas"], deployment["spec"]["strategy"]) == (
            1,
            {"type": "Recreate"},
        )
    finally:
        helm("uninstall", release, "--namespace", kube_namespace, kubeconfig)
    left = kubectl("get", "clusterrole", kube_namespace, check=False)
    assert "NotFound" in left.stderr, "helm uninstall left the ClusterRole behind"


def _okr_example_documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((REPO_ROOT / "examples").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith("okr.dev/"):
                docs.append(doc)
    return docs


def test_kubeconform_should_accept_the_chart_and_the_examples(tmp_path: Path) -> None:
    schemas = crd_json_schemas(sorted(CRDS_DIR.glob("*.yaml")), tmp_path / "schemas")
    assert sorted(path.name for path in schemas) == [
        "checkin_v1alpha1.json",
        "clusterprometheussource_v1alpha1.json",
        "keyresult_v1alpha1.json",
        "objective_v1alpha1.json",
        "prometheussource_v1alpha1.json",
    ]
    examples = _okr_example_documents()
    assert examples, "examples/ holds no okr.dev objects"
    examples_file = tmp_path / "examples.yaml"
    examples_file.write_text(yaml.safe_dump_all(examples), encoding="utf-8")
    chart_file = tmp_path / "chart.yaml"
    chart_file.write_text(
        render(
            {
                "grafana": {"dashboards": {"enabled": True}},
                "digest": {"enabled": True, "webhookSecret": {"name": "slack-webhook"}},
            },
            tmp_dir=tmp_path,
        ),
        encoding="utf-8",
    )
    results = kubeconform([chart_file, examples_file], tmp_path / "schemas")
    okr_results = [
        r
        for r in results
        if r.kind
        in {"KeyResult", "Objective", "CheckIn", "PrometheusSource", "ClusterPrometheusSource"}
    ]
    assert [r for r in okr_results if r.status != "statusValid"] == []
    assert len(okr_results) == len(examples)
    # Everything else is a built-in kind without an offline schema (checked by the
    # server dry run above), and nothing errored.
    others = {(r.kind, r.status) for r in results if r not in okr_results}
    assert others == {
        ("ServiceAccount", "statusSkipped"),
        ("CustomResourceDefinition", "statusSkipped"),
        ("ClusterRole", "statusSkipped"),
        ("ClusterRoleBinding", "statusSkipped"),
        ("NetworkPolicy", "statusSkipped"),
        ("Service", "statusSkipped"),
        ("Deployment", "statusSkipped"),
        ("ConfigMap", "statusSkipped"),
        ("ValidatingWebhookConfiguration", "statusSkipped"),
        ("CronJob", "statusSkipped"),
    }


def test_kubeconform_strict_should_reject_an_unknown_field(tmp_path: Path) -> None:
    crd_json_schemas(sorted(CRDS_DIR.glob("*.yaml")), tmp_path / "schemas")
    manifest = tmp_path / "typo.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "okr.dev/v1alpha1",
                "kind": "KeyResult",
                "metadata": {"name": "typo", "namespace": "team-a"},
                "spec": {
                    "objectiveRef": {"name": "fast-checkout"},
                    "query": "vector(1)",
                    "target": 5,
                    "targt": 6,
                },
            }
        ),
        encoding="utf-8",
    )
    [result] = kubeconform([manifest], tmp_path / "schemas")
    assert (result.kind, result.name, result.status) == ("KeyResult", "typo", "statusInvalid")
    assert "targt" in result.message
