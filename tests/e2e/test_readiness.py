"""/readyz on the real API server: ready only once every kind is listed and state restored.

A first operator evaluates an Objective and key results (interval 1h) and is
stopped; a second one starts on the same namespace. Readiness must not turn 200
before it has restored every one from status: at the first 200 its /metrics
(fed by the engine's registry on restore, with no evaluation due for an hour)
already has every one. A
ServiceAccount that may not list Objectives keeps the operator unready, saying so.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import ROOT, _kubectl
from tests.e2e.test_key_results import evaluated, key_result, objective, series
from tests.support.bench import serviceaccount_kubeconfig
from tests.support.processes import RunningProcess, tool
from tests.support.runner import Kube, readyz, start_operator

pytestmark = pytest.mark.e2e
KEY_RESULTS = 12


@pytest.fixture
def quiet(kube: Kube) -> str:
    """A namespace outside the session operator's glob, with objects in it already."""
    name = f"ready-{uuid.uuid4().hex[:8]}"
    kube.core.create_namespace({"metadata": {"name": name}})
    kube.create(objective(name))
    for i in range(KEY_RESULTS):
        kube.create(key_result(name, f"kr-{i}", series("ontrack"), 200, interval="1h"))
    return name


def test_readyz_should_turn_ready_only_with_every_object_restored(
    kube: Kube,
    quiet: str,
    operator_kubeconfig: Path,
    prometheus: RunningProcess,
    tmp_path: Path,
) -> None:
    # A first operator writes every status; the second one must restore them all.
    first = start_operator(
        kubeconfig=operator_kubeconfig,
        prometheus_url=prometheus.url,
        workdir=tmp_path / "first",
        namespaces=[quiet],
    )
    try:
        for i in range(KEY_RESULTS):
            kube.wait_status(
                "KeyResult", quiet, f"kr-{i}", evaluated, what="evaluated", log=first.log_tail()
            )
    finally:
        first.stop()
    running = start_operator(
        kubeconfig=operator_kubeconfig,
        prometheus_url=prometheus.url,
        workdir=tmp_path / "second",
        namespaces=[quiet],
    )
    try:
        answers: list[tuple[int, str]] = []

        def ready() -> bool:
            answers.append(readyz(running))
            return answers[-1][0] == 200

        kube.wait("/readyz to answer 200", ready, log=running.log_tail())
        exposition = running.metrics()
        assert answers[-1][1] == "active: every kind listed, state restored"
        assert {code for code, _ in answers} <= {200, 503}
        assert all(
            body.startswith(("starting", "listing", "restoring")) for _, body in answers[:-1]
        )
        known = {
            sample.labels["key_result"]
            for family in text_string_to_metric_families(exposition)
            for sample in family.samples
            if sample.name == "okr_key_result_info" and sample.labels["namespace"] == quiet
        }
        missing = sorted({f"kr-{i}" for i in range(KEY_RESULTS)} - known)
        assert not missing, f"ready before these were restored: {missing}\n{running.log_tail(400)}"
    finally:
        running.stop()


def test_a_forbidden_listing_should_keep_it_unready(
    admin_kubeconfig: Path, quiet: str, prometheus: RunningProcess, tmp_path: Path
) -> None:
    """The chart's ClusterRole without Objectives: the listing never ends, so never ready."""
    sa = f"no-objectives-{uuid.uuid4().hex[:6]}"
    rendered = subprocess.run(
        [
            tool("helm"), "template", sa, str(ROOT / "helm" / "okr-operator"),
            "--namespace", quiet, "--set", f"operator.watchNamespaces[0]={quiet}",
            "--show-only", "templates/clusterrole.yaml",
            "--show-only", "templates/clusterrolebinding.yaml",
            "--show-only", "templates/serviceaccount.yaml",
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    without = rendered.replace('["keyresults", "objectives"]', '["keyresults"]')
    assert without != rendered
    _kubectl(admin_kubeconfig, "apply", "-f", "-", stdin=without)
    kubeconfig = serviceaccount_kubeconfig(quiet, f"{sa}-okr-operator", tmp_path / "kubeconfig")
    running = start_operator(
        kubeconfig=kubeconfig, prometheus_url=prometheus.url, workdir=tmp_path, namespaces=[quiet]
    )
    try:
        kube = Kube(admin_kubeconfig)

        # Wait for kopf to have tried: its log names the forbidden resource.
        def forbidden() -> bool:
            text = running.log_tail(400)
            return "objectives" in text and ("403" in text or "orbidden" in text)

        kube.wait("the operator to meet the forbidden list", forbidden, log=running.log_tail())
        code, body = readyz(running)
        # The access review names the rule (tests/faults/test_rbac.py goes further).
        assert (code, body.split(":")[0]) == (503, "forbidden"), running.log_tail()
        assert f"list objectives.okr.dev in namespace {quiet}" in body
    finally:
        running.stop()
