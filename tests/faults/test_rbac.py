"""Missing RBAC on the real API server: unready, naming the rule, never the user's fault.

Each test binds a ServiceAccount to the chart's ClusterRole with one rule cut
out, runs ``okr run`` as it, and then grants the rule back: the operator must
say which rule it lacks on /readyz (503), write nothing on the user objects
meanwhile (no ReferenceNotFound when it may not list Objectives: the Objective
exists), log no traceback, and recover once granted.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, _kubectl
from tests.e2e.test_key_results import evaluated, key_result, objective, series
from tests.support.bench import serviceaccount_kubeconfig
from tests.support.processes import RunningProcess, tool
from tests.support.runner import Kube, RunningOperator, readyz, start_operator

pytestmark = pytest.mark.faults


@pytest.fixture
def team(kube: Kube) -> Iterator[str]:
    name = f"rbac-{uuid.uuid4().hex[:8]}"
    kube.core.create_namespace({"metadata": {"name": name}})
    kube.create(objective(name))
    kube.create(key_result(name, "kr", series("steady"), 100))
    yield name
    # No controller-manager: the namespace stays Terminating; the objects go.
    for plural in ("keyresults", "objectives"):
        kube.custom.delete_collection_namespaced_custom_object("okr.dev", "v1alpha1", name, plural)
    kube.core.delete_namespace(name)


def chart_rbac(sa: str, namespace: str) -> str:
    return subprocess.run(
        [
            tool("helm"), "template", sa, str(ROOT / "helm" / "okr-operator"),
            "--namespace", namespace, "--set", f"operator.watchNamespaces[0]={namespace}",
            "--show-only", "templates/clusterrole.yaml",
            "--show-only", "templates/clusterrolebinding.yaml",
            "--show-only", "templates/serviceaccount.yaml",
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def run_without(
    admin: Path, team: str, cut: tuple[str, str], prometheus: RunningProcess, tmp_path: Path
) -> tuple[RunningOperator, str]:
    sa = f"cut-{uuid.uuid4().hex[:6]}"
    full = chart_rbac(sa, team)
    without = full.replace(*cut)
    assert without != full, cut
    _kubectl(admin, "apply", "-f", "-", stdin=without)
    kubeconfig = serviceaccount_kubeconfig(team, f"{sa}-okr-operator", tmp_path / "kubeconfig")
    running = start_operator(
        kubeconfig=kubeconfig,
        prometheus_url=prometheus.url,
        workdir=tmp_path,
        namespaces=[team],
        extra_args=["--listing-timeout", "1"],
    )
    return running, full


def conditions(kube: Kube, team: str) -> dict[str, Any]:
    status = kube.get("KeyResult", team, "kr").get("status") or {}
    return {c["type"]: c for c in status.get("conditions") or []}


def events_of(kube: Kube, team: str) -> list[str]:
    events = kube.core.list_namespaced_event(team).items
    return [f"{e.reason}: {e.message}" for e in events if e.involved_object.name == "kr"]


def test_no_objectives_listing_is_unready_naming_the_rule_and_no_reference_not_found(
    admin_kubeconfig: Path, kube: Kube, team: str, prometheus: RunningProcess, tmp_path: Path
) -> None:
    running, full = run_without(
        admin_kubeconfig, team,
        ('["keyresults", "objectives"]', '["keyresults"]'), prometheus, tmp_path,
    )  # fmt: skip
    try:
        answers: list[tuple[int, str]] = []

        def names_the_rule() -> bool:
            answers.append(readyz(running))
            return (
                answers[-1][0] == 503
                and f"list objectives.okr.dev in namespace {team}" in (answers[-1][1])
            )

        kube.wait("/readyz to name the missing rule", names_the_rule, log=running.log_tail())
        assert answers[-1][1].startswith("forbidden: missing RBAC rules: "), answers[-1]
        assert "watch objectives.okr.dev" in answers[-1][1]
        # The operator is where it would start evaluating (kopf watches what it may,
        # or the 1 s listing timeout passed): before, evaluations started here and
        # wrote ReferenceNotFound on a key result whose Objective exists.
        kube.wait(
            "the point where evaluations would start",
            lambda: any(
                line in running.log_tail(400)
                for line in ("have not listed every kind", "kopf watches every kind")
            ),
            log=running.log_tail(),
        )
        _kubectl(admin_kubeconfig, "apply", "-f", "-", stdin=full)
        kube.wait(
            "the key result evaluated once the rule is granted",
            lambda: evaluated(kube.get("KeyResult", team, "kr").get("status") or {}),
            log=running.log_tail(),
        )
        kube.wait("/readyz 200", lambda: readyz(running)[0] == 200, log=running.log_tail())
        assert conditions(kube, team)["Ready"]["status"] == "True"
        assert not [e for e in events_of(kube, team) if "ReferenceNotFound" in e]
        assert "Traceback" not in running.log_tail(100_000)
    finally:
        running.stop()


def test_no_status_patch_is_unready_naming_the_rule_without_tracebacks(
    admin_kubeconfig: Path, kube: Kube, team: str, prometheus: RunningProcess, tmp_path: Path
) -> None:
    running, full = run_without(
        admin_kubeconfig, team,
        ('["keyresults/status", "objectives/status"]', '["objectives/status"]'),
        prometheus, tmp_path,
    )  # fmt: skip
    try:
        rule = f"patch keyresults/status.okr.dev in namespace {team}"
        kube.wait(
            "/readyz to name the missing rule",
            lambda: readyz(running) == (503, f"forbidden: missing RBAC rules: {rule}"),
            log=running.log_tail(),
        )
        # The engine evaluates (the watches are allowed) and its writes are refused.
        kube.wait(
            "a refused status write",
            lambda: "Status write failed; retrying" in running.log_tail(400),
            log=running.log_tail(),
        )
        assert "Traceback" not in running.log_tail(100_000)
        assert conditions(kube, team) == {}  # nothing written, nothing blamed on the object
        _kubectl(admin_kubeconfig, "apply", "-f", "-", stdin=full)
        kube.wait(
            "the status written once the rule is granted",
            lambda: evaluated(kube.get("KeyResult", team, "kr").get("status") or {}),
            log=running.log_tail(),
        )
        kube.wait("/readyz 200", lambda: readyz(running)[0] == 200, log=running.log_tail())
        assert "Traceback" not in running.log_tail(100_000)
    finally:
        running.stop()


def test_no_secret_get_is_unready_naming_the_rule_and_blames_no_source(
    admin_kubeconfig: Path, kube: Kube, team: str, prometheus: RunningProcess, tmp_path: Path
) -> None:
    kube.core.create_namespaced_secret(
        team, {"metadata": {"name": "token"}, "stringData": {"token": "tok-3f9a1c7e"}}
    )
    kube.create(
        {
            "apiVersion": "okr.dev/v1alpha1",
            "kind": "PrometheusSource",
            "metadata": {"name": "prom", "namespace": team},
            "spec": {
                "url": prometheus.url,
                "bearerTokenSecretRef": {"name": "token", "key": "token"},
            },
        }
    )
    kube.create(
        key_result(
            team, "kr-secret", series("steady"), 100,
            sourceRef={"kind": "PrometheusSource", "name": "prom"},
        )
    )  # fmt: skip
    running, full = run_without(
        admin_kubeconfig, team,
        ('["secrets", "configmaps"]', '["configmaps"]'), prometheus, tmp_path,
    )  # fmt: skip
    try:
        rule = f"get secrets in namespace {team}"
        kube.wait(
            "/readyz to name the missing rule",
            lambda: readyz(running) == (503, f"forbidden: missing RBAC rules: {rule}"),
            log=running.log_tail(),
        )
        kube.wait(
            "the key result with the default source evaluated",
            lambda: evaluated(kube.get("KeyResult", team, "kr").get("status") or {}),
            log=running.log_tail(),
        )
        status = kube.get("KeyResult", team, "kr-secret").get("status") or {}
        assert not status.get("conditions"), status  # nothing blamed on it
        assert "Traceback" not in running.log_tail(100_000)
        _kubectl(admin_kubeconfig, "apply", "-f", "-", stdin=full)
        kube.wait(
            "the key result evaluated once the rule is granted",
            lambda: evaluated(kube.get("KeyResult", team, "kr-secret").get("status") or {}),
            log=running.log_tail(),
        )
        kube.wait("/readyz 200", lambda: readyz(running)[0] == 200, log=running.log_tail())
    finally:
        running.stop()
