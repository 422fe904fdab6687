"""Fixtures for tests that run the operator against the bench's kube-apiserver.

Prometheus is a throwaway instance per session holding the deterministic
history of ``tests/e2e/history.py``; the operator runs as a ServiceAccount with
exactly the ClusterRole the Helm chart installs, so RBAC gaps fail here.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import history
from tests.support.bench import serviceaccount_kubeconfig
from tests.support.processes import RunningProcess, tool
from tests.support.prometheus import start_prometheus_with_history
from tests.support.runner import Kube, RunningOperator, start_operator

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_NAMESPACE = "okr-system"
# The session's operator watches these namespaces (a kopf glob), so tests that run
# an operator of their own use namespaces outside it.
WATCHED = "e2e-*"


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [tool("kubectl"), f"--kubeconfig={kubeconfig}", *args],
        input=stdin, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


@pytest.fixture(scope="session")
def admin_kubeconfig(bench: Any) -> Path:
    """The bench's admin kubeconfig, with our CRDs installed."""
    path = Path(bench.kubeconfig)
    _kubectl(path, "apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    for crd in (
        "keyresults",
        "objectives",
        "checkins",
        "prometheussources",
        "clusterprometheussources",
    ):
        _kubectl(path, "wait", "--for=condition=Established", f"crd/{crd}.okr.dev", "--timeout=60s")
    # Established comes a moment before the endpoints serve; wait for them.
    kube = Kube(path)
    kube.wait(
        "the okr.dev endpoints",
        lambda: (
            kube.custom.list_cluster_custom_object("okr.dev", "v1alpha1", "keyresults") is not None
        ),
    )
    return path


@pytest.fixture(scope="session")
def operator_kubeconfig(admin_kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ServiceAccount bound to the chart's ClusterRole, as a kubeconfig."""
    rbac = subprocess.run(
        [
            tool("helm"), "template", "okr-operator", str(ROOT / "helm" / "okr-operator"),
            "--namespace", OPERATOR_NAMESPACE,
            "--set", f"operator.watchNamespaces[0]={WATCHED}",
            "--show-only", "templates/clusterrole.yaml",
            "--show-only", "templates/clusterrolebinding.yaml",
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    # The namespace may exist from an earlier session on the same bench.
    kubectl = [tool("kubectl"), f"--kubeconfig={admin_kubeconfig}"]
    subprocess.run(
        [*kubectl, "create", "namespace", OPERATOR_NAMESPACE], capture_output=True, check=False
    )
    _kubectl(admin_kubeconfig, "apply", "-f", "-", stdin=rbac)
    path = tmp_path_factory.mktemp("sa") / "kubeconfig"
    return serviceaccount_kubeconfig(OPERATOR_NAMESPACE, "okr-operator", path)


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    """Prometheus holding the e2e history; lookback covers the gap since its last sample."""
    with start_prometheus_with_history(
        history.openmetrics(),
        tmp_path_factory.mktemp("prometheus"),
        extra_args=["--query.lookback-delta=3h"],
    ) as running:
        yield running


@pytest.fixture(scope="session")
def operator(
    operator_kubeconfig: Path, prometheus: RunningProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningOperator]:
    """``okr run --namespace 'e2e-*'`` as the chart's ServiceAccount."""
    running = start_operator(
        kubeconfig=operator_kubeconfig,
        prometheus_url=prometheus.url,
        workdir=tmp_path_factory.mktemp("operator"),
        namespaces=[WATCHED],
        status_interval="3s",
        operator_namespace=OPERATOR_NAMESPACE,
    )
    yield running
    running.stop()


@pytest.fixture(scope="session")
def kube(admin_kubeconfig: Path) -> Kube:
    """The API as a user (admin) sees it."""
    return Kube(admin_kubeconfig)


@pytest.fixture
def ns(kube: Kube) -> str:
    """A fresh namespace (no controller-manager here, so it is never deleted)."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    kube.core.create_namespace({"metadata": {"name": name}})
    return name
