"""High availability on the real API server: two operators with kopf peering, SIGKILL the active.

Both run ``okr run --peering NAME`` as a ServiceAccount bound to the chart's
ClusterRole rendered with ``ha.enabled`` (so the peering RBAC is the chart's).
The first one started is active; the second (newer, so lower default priority)
stands by: ready, no evaluation, no write. The active one is then killed with
SIGKILL. The standby must take over within TAKEOVER_LIMIT seconds (the
documented bound: ``--peering-lifetime`` 15 s plus one listing), restore every
object from status with 0 status writes, 0 Events and 0 duplicated history
points, and go on evaluating every key result on its schedule.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import ROOT, _kubectl
from tests.e2e.test_key_results import evaluated, key_result, objective, series
from tests.support.bench import serviceaccount_kubeconfig
from tests.support.processes import RunningProcess, tool
from tests.support.runner import Kube, RunningOperator, readyz, start_operator

pytestmark = pytest.mark.e2e
KEY_RESULTS = 8
LIFETIME = 15
TAKEOVER_LIMIT = 30.0
PEERING_CRD = ROOT / "helm" / "okr-operator" / "files" / "kopf.dev_clusterkopfpeerings.yaml"


def counter(operator: RunningOperator, name: str) -> float:
    """The sum over labels of counter ``name`` (``_total`` sample) on /metrics."""
    total = 0.0
    for family in text_string_to_metric_families(operator.metrics()):
        for sample in family.samples:
            if sample.name == f"{name}_total":
                total += sample.value
    return total


def history_days(status: dict[str, Any]) -> list[str]:
    """The UTC day of every history point, in order."""
    return [str(point["time"])[:10] for point in status.get("history") or []]


@pytest.fixture
def ha_namespace(kube: Kube, admin_kubeconfig: Path) -> str:
    """A namespace outside the session operator's glob, with OKRs and the peering CRD ready."""
    _kubectl(admin_kubeconfig, "apply", "--server-side", "-f", str(PEERING_CRD))
    _kubectl(
        admin_kubeconfig,
        "wait", "--for=condition=Established", "crd/clusterkopfpeerings.kopf.dev", "--timeout=60s",
    )  # fmt: skip
    kube.wait(
        "the kopf.dev endpoints",
        lambda: (
            kube.custom.list_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings")
            is not None
        ),
    )
    name = f"ha-{uuid.uuid4().hex[:8]}"
    kube.core.create_namespace({"metadata": {"name": name}})
    kube.create(objective(name))
    for i in range(KEY_RESULTS):
        kube.create(key_result(name, f"kr-{i}", series("ontrack"), 200))
    return name


@pytest.fixture
def ha_kubeconfig(admin_kubeconfig: Path, ha_namespace: str, tmp_path: Path) -> Path:
    """A ServiceAccount with the chart's ClusterRole as ha.enabled renders it."""
    release = f"okr-{ha_namespace}"
    rendered = subprocess.run(
        [
            tool("helm"), "template", release, str(ROOT / "helm" / "okr-operator"),
            "--namespace", ha_namespace, "--set", f"operator.watchNamespaces[0]={ha_namespace}",
            "--set", "ha.enabled=true",
            "--show-only", "templates/clusterrole.yaml",
            "--show-only", "templates/clusterrolebinding.yaml",
            "--show-only", "templates/serviceaccount.yaml",
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "clusterkopfpeerings" in rendered
    _kubectl(admin_kubeconfig, "apply", "-f", "-", stdin=rendered)
    return serviceaccount_kubeconfig(
        ha_namespace, f"{release}-okr-operator", tmp_path / "kubeconfig"
    )


def _start(
    kubeconfig: Path, namespace: str, url: str, workdir: Path, *extra: str
) -> RunningOperator:
    return start_operator(
        kubeconfig=kubeconfig,
        prometheus_url=url,
        workdir=workdir,
        namespaces=[namespace],
        status_interval="1h",
        extra_args=["--peering", f"okr-{namespace}", "--peering-lifetime", str(LIFETIME), *extra],
    )


@pytest.fixture
def pair(
    ha_kubeconfig: Path, ha_namespace: str, prometheus: RunningProcess, tmp_path: Path
) -> Iterator[list[RunningOperator]]:
    started: list[RunningOperator] = []

    def start(name: str) -> RunningOperator:
        running = _start(ha_kubeconfig, ha_namespace, prometheus.url, tmp_path / name)
        started.append(running)
        return running

    first = start("first")
    kube = Kube(ha_kubeconfig)
    kube.wait(
        "the first operator to be active",
        lambda: readyz(first) == (200, "active: every kind listed, state restored"),
        log=first.log_tail(),
    )
    start("second")
    yield started
    for running in started:
        running.stop()


def test_the_standby_should_take_over_silently_after_sigkill(
    kube: Kube, ha_namespace: str, pair: list[RunningOperator]
) -> None:
    active, standby = pair
    names = [f"kr-{i}" for i in range(KEY_RESULTS)]
    for name in names:
        kube.wait_status(
            "KeyResult", ha_namespace, name, evaluated, what="evaluated", log=active.log_tail()
        )
    # The objective rolled up with every member known: nothing is pending at the kill.
    kube.wait_status(
        "Objective",
        ha_namespace,
        "goal",
        lambda status: status.get("health") not in (None, "Unknown"),
        what="rolled up",
        log=active.log_tail(),
    )
    kube.wait(
        "the second operator to stand by",
        lambda: readyz(standby)[1].startswith("standby: paused by peering"),
        log=standby.log_tail(),
    )
    code, reason = readyz(standby)
    assert code == 200, reason  # a standby is ready: it serves the webhook, a rollout counts it
    # Exactly one evaluates and writes: the standby has done neither.
    assert counter(active, "okr_evaluations") > 0
    assert counter(standby, "okr_evaluations") == 0
    assert counter(standby, "okr_status_writes") == 0

    active.process.kill()  # SIGKILL: no goodbye in the peering object
    killed_at = time.monotonic()
    active.process.wait(timeout=10)
    # What the killed one left: every status and the Events, which nobody else writes.
    before = {name: kube.get("KeyResult", ha_namespace, name) for name in names}
    goal_before = kube.get("Objective", ha_namespace, "goal")
    events_before = len(kube.core.list_namespaced_event(ha_namespace).items)
    kube.wait(
        "the standby to take over",
        lambda: readyz(standby) == (200, "active: every kind listed, state restored"),
        timeout=TAKEOVER_LIMIT + 15,
        log=standby.log_tail(),
    )
    takeover = time.monotonic() - killed_at
    print(f"takeover after SIGKILL: {takeover:.1f} s (lifetime {LIFETIME} s)")
    assert takeover <= TAKEOVER_LIMIT, standby.log_tail()

    # It continues the schedule: every key result evaluated again by the new active one.
    kube.wait(
        "the new active one to evaluate every key result",
        lambda: counter(standby, "okr_evaluations") >= KEY_RESULTS,
        log=standby.log_tail(),
    )
    # ... restored from status: not one write, not one Event, no duplicated point.
    assert counter(standby, "okr_status_writes") == 0, standby.log_tail()
    assert len(kube.core.list_namespaced_event(ha_namespace).items) == events_before
    for name in names:
        after = kube.get("KeyResult", ha_namespace, name)
        assert after["metadata"]["resourceVersion"] == before[name]["metadata"]["resourceVersion"]
        days = history_days(after["status"])
        assert days == history_days(before[name]["status"])
        assert len(days) == len(set(days)), f"{name}: duplicated history points {days}"
    goal_after = kube.get("Objective", ha_namespace, "goal")
    assert goal_after["metadata"]["resourceVersion"] == goal_before["metadata"]["resourceVersion"]

    # The peering object says who is who: the dead one is gone, the new active one is there.
    peering = kube.custom.get_cluster_custom_object(
        "kopf.dev", "v1", "clusterkopfpeerings", f"okr-{ha_namespace}"
    )
    assert len(peering.get("status") or {}) == 1, peering


def test_an_active_replica_should_step_down_when_a_higher_priority_one_joins(
    kube: Kube,
    ha_kubeconfig: Path,
    ha_namespace: str,
    prometheus: RunningProcess,
    tmp_path: Path,
) -> None:
    """Never two writers: the paused one stops its engine and exits, to restart as a standby."""
    first = _start(ha_kubeconfig, ha_namespace, prometheus.url, tmp_path / "first")
    second: RunningOperator | None = None
    try:
        kube.wait(
            "the first operator to be active",
            lambda: readyz(first) == (200, "active: every kind listed, state restored"),
            log=first.log_tail(),
        )
        # The highest priority there is: kopf pauses the first one in its favour.
        second = _start(
            ha_kubeconfig, ha_namespace, prometheus.url, tmp_path / "second",
            "--peering-priority", str(2**62),
        )  # fmt: skip
        kube.wait("the first operator to exit", lambda: first.process.poll() is not None)
        assert first.process.returncode == 0
        assert "paused by peering after evaluating: stepping down" in first.log_tail(400)
        kube.wait(
            "the second operator to be active",
            lambda: readyz(second) == (200, "active: every kind listed, state restored"),
            log=second.log_tail(),
        )
    finally:
        first.stop()
        if second is not None:
            second.stop()
