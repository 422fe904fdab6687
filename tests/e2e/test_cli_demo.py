"""``okr preview`` and ``kubectl okr tree`` on the demo: examples/ against the demo's history.

An operator of this test's own evaluates examples/ against a Prometheus holding
the demo history (hack/history.py, backfilled with promtool). Then ``okr
preview -f examples/`` is run ``--at`` the very instant the operator evaluated
each object and must print the numbers the operator wrote, and ``kubectl okr
tree -A`` must print the alignment map with them.

The instant comes from the operator's /metrics (``*_last_evaluation_timestamp_seconds``,
full precision): ``status.lastEvaluationTime`` is whole seconds, and queries over
``$__elapsed`` move with every millisecond (Prometheus extrapolates to the range's start).
An objective is previewed at its own instant: its members are then measured a few
milliseconds after the operator measured them (in the first round, which the test
reads), far too little to move a progress rounded to four decimals.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Kubectl
from tests.support.processes import RunningProcess
from tests.support.prometheus import start_prometheus_with_history
from tests.support.runner import Kube, RunningOperator, start_operator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT / "hack"))

from demo_model import EPOCH  # noqa: E402
from history import END_MARGIN, write_history  # noqa: E402


def _example_objects() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return [d for d in docs if d.get("apiVersion") == "okr.dev/v1alpha1"]


OBJECTS = _example_objects()
NAMESPACES = sorted({d["metadata"]["namespace"] for d in OBJECTS})


@pytest.fixture(scope="module")
def demo_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    out = io.StringIO()
    write_history(out, EPOCH, math.floor(time.time() - END_MARGIN))
    # The history ends two minutes ago; a longer lookback keeps instant queries
    # answering for the length of the test.
    with start_prometheus_with_history(
        out.getvalue(),
        tmp_path_factory.mktemp("demo-prometheus"),
        extra_args=["--query.lookback-delta=1h"],
    ) as running:
        yield running


@pytest.fixture(scope="module")
def demo(
    kubectl: Kubectl,
    admin_kubeconfig: Path,
    operator_kubeconfig: Path,
    demo_prometheus: RunningProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningOperator]:
    """examples/ applied, evaluated by an operator watching only their namespaces."""
    kubectl("apply", "-f", str(EXAMPLES / "00-namespaces.yaml"))
    # Objects left by an earlier run on this bench would be resumed from their status,
    # whose times are whole seconds: start from none. (Namespaces stay: without a
    # controller-manager a deleted namespace never goes away.)
    for namespace in NAMESPACES:
        kubectl("delete", "keyresults,objectives", "--all", "-n", namespace, "--wait=true")
    kubectl("apply", "-f", str(EXAMPLES))
    running = start_operator(
        kubeconfig=operator_kubeconfig,
        prometheus_url=demo_prometheus.url,
        workdir=tmp_path_factory.mktemp("demo-operator"),
        namespaces=NAMESPACES,
        status_interval="0s",  # every evaluation written: status matches /metrics
    )
    yield running
    running.stop()


def _instants(exposition: str) -> dict[tuple[str, str, str], float]:
    found = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "okr_key_result_last_evaluation_timestamp_seconds":
                found[("KeyResult", labels["namespace"], labels["key_result"])] = sample.value
            elif sample.name == "okr_objective_last_evaluation_timestamp_seconds":
                found[("Objective", labels["namespace"], labels["objective"])] = sample.value
    return found


def _whole_seconds(instant: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(math.floor(instant)))


def _settled(
    kube: Kube, demo: RunningOperator, *, exact: bool = True
) -> tuple[dict[Any, dict[str, Any]], dict[Any, float]]:
    """Every object's status with the exact instant of the evaluation that wrote it.

    With ``exact`` the latest evaluation (from /metrics) must be the one in
    status. Status is rewritten only when it moved by a progress point or a
    health (README, "what the operator writes"), so later evaluations of a
    steady object leave an older lastEvaluationTime: without ``exact`` it is
    enough that every object has been evaluated and counted.
    """
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        instants = _instants(demo.metrics())
        statuses = {}
        for doc in OBJECTS:
            if doc["kind"] not in ("KeyResult", "Objective"):
                continue
            key = (doc["kind"], doc["metadata"]["namespace"], doc["metadata"]["name"])
            statuses[key] = kube.get(*key).get("status") or {}
        consistent = all(
            status.get("health")
            and key in instants
            and (
                not exact
                # Objectives are rolled up every 10 s but written only on change:
                # their members' statuses, not their instant, decide the numbers.
                or key[0] == "Objective"
                or status.get("lastEvaluationTime") == _whole_seconds(instants[key])
            )
            for key, status in statuses.items()
        )
        # An objective counts its key results only once they have all been evaluated.
        counted = all(
            status.get("keyResults", {}).get("Unknown", 0) == 0
            and all(child.get("health") != "Unknown" for child in status.get("children", []))
            for key, status in statuses.items()
            if key[0] == "Objective"
        )
        if consistent and counted:
            return statuses, instants
        time.sleep(1)
    raise AssertionError(f"the demo did not settle:\n{demo.log_tail()}")


def _while_unchanged(
    kube: Kube, demo: RunningOperator, command: list[str], env: dict[str, str]
) -> tuple[dict[Any, dict[str, Any]], str]:
    """Run ``command`` and return its output with the statuses it must show.

    Key results are re-evaluated every minute or so: a run during which any
    status changed is repeated, so the comparison is with what it really read.
    """
    for _ in range(3):
        before, _ = _settled(kube, demo, exact=False)
        result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
        assert result.returncode == 0, result.stderr
        after, _ = _settled(kube, demo, exact=False)
        if before == after:
            return before, result.stdout
    raise AssertionError("statuses kept changing while kubectl okr ran")


def _preview(prometheus_url: str, at: float) -> dict[tuple[str, str, str], dict[str, Any]]:
    result = subprocess.run(
        [
            sys.executable, "-m", "okr_operator", "preview", "-f", str(EXAMPLES),
            "--prometheus", prometheus_url, "--at", repr(at), "--output", "json",
        ],
        capture_output=True, text=True, check=False,
        env={**os.environ, "KUBECONFIG": "/nonexistent"},  # no cluster: sources from files
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(result.stdout)["objects"]
    return {(row["kind"], row["namespace"], row["name"]): row for row in rows}


def _computed(exposition: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    """What the operator computed at its latest evaluation of each object (/metrics)."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    names = {
        "progress_ratio": "progress", "expected_progress_ratio": "expectedProgress",
        "value": "value", "baseline": "baseline",
    }  # fmt: skip
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            labels = sample.labels
            for kind, prefix, label in (
                ("KeyResult", "okr_key_result_", "key_result"),
                ("Objective", "okr_objective_", "objective"),
            ):
                if not sample.name.startswith(prefix) or label not in labels:
                    continue
                if kind == "Objective" and "key_result" in labels:
                    continue
                entry = found.setdefault((kind, labels["namespace"], labels[label]), {})
                rest = sample.name.removeprefix(prefix)
                if rest in names:
                    entry[names[rest]] = sample.value
                elif rest == "health" and sample.value == 1:
                    entry["health"] = labels["health"]
    return found


def test_preview_prints_what_the_operator_wrote_for_the_same_instant(
    kube: Kube, demo: RunningOperator, demo_prometheus: RunningProcess
) -> None:
    # Status is rewritten only when it moved by a progress point or a health
    # (README), so the exact numbers of the operator's latest evaluation are
    # read from /metrics, scraped once with the instants; status must agree
    # with them within that rule.
    statuses, _ = _settled(kube, demo, exact=False)
    exposition = demo.metrics()
    instants, computed = _instants(exposition), _computed(exposition)
    compared = []
    for key, status in sorted(statuses.items()):
        row = _preview(demo_prometheus.url, instants[key])[key]
        fields = ["progress", "expectedProgress", "health"]
        if key[0] == "KeyResult":
            fields += ["value", "baseline"]
        got = {name: row[name] for name in fields}
        operator = {name: computed[key].get(name) for name in fields}
        if key[0] == "KeyResult":
            # Preview prints the ratios as status does, to 4 places; /metrics has all.
            for name in ("progress", "expectedProgress"):
                if operator[name] is not None:
                    operator[name] = round(operator[name], 4)
            assert got == operator, f"{key}: preview {got} but the operator computed {operator}"
        else:
            # An objective rolls up its members' latest evaluations, each taken
            # at its own instant, not at the objective's.
            assert got["health"] == operator["health"], key
            for name in ("progress", "expectedProgress"):
                assert got[name] == pytest.approx(operator[name], abs=1e-3), (key, name)
        if status.get("progress") is not None:
            assert abs(status["progress"] - operator["progress"]) <= 0.01, key
        assert status.get("health") == operator["health"], key
        compared.append(key)
    assert len(compared) == len([d for d in OBJECTS if d["kind"] in ("KeyResult", "Objective")])
    # The demo is not all Unknown: real numbers were compared.
    assert sum(1 for s in statuses.values() if s.get("progress") is not None) >= 8


def test_kubectl_okr_tree_prints_the_alignment_map(
    kube: Kube, demo: RunningOperator, admin_kubeconfig: Path
) -> None:
    kubectl_okr = Path(sys.executable).parent / "kubectl-okr"
    env = {**os.environ, "KUBECONFIG": str(admin_kubeconfig), "NO_COLOR": "1"}
    statuses, out = _while_unchanged(kube, demo, [str(kubectl_okr), "tree", "-A"], env)
    lines = out.splitlines()
    assert lines[0].split() == [
        "OBJECTIVE", "/", "KEY", "RESULT", "VALUE", "/", "TARGET", "PROGRESS", "EXPECTED",
        "HEALTH", "OWNER",
    ]  # fmt: skip
    width = lines[0].index("VALUE / TARGET")
    labels = [line[:width].rstrip() for line in lines[1:]]
    company = statuses[("Objective", "okr-company", "customers-can-rely-on-us")]
    # -A also shows what other tests left on the shared bench: find the company
    # objective's line, a root of the map (no tree prefix).
    row = labels.index("Customers can rely on us [okr-company]") + 1
    assert f"{round(company['progress'] * 100)}%" in lines[row]
    assert company["health"] in lines[row]
    assert "cto@example.com" in lines[row]
    assert "\033[" not in out
    # Every example object is on the map, team objectives nested under company ones.
    for key in statuses:
        if key[0] == "KeyResult":
            assert any(label.endswith(f"─ {key[2]}") for label in labels), key
    assert any(
        label.startswith("└─ Customers don't notice our incidents [team-reliability]")
        for label in labels
    )
    latency = next(line for line in lines if "checkout-p95-latency" in line)
    value = statuses[("KeyResult", "team-reliability", "checkout-p95-latency")]["value"]
    assert f"{value:.4g} / 0.3 seconds" in latency
    assert "sre-lead@example.com" in latency


def test_kubectl_okr_get_prints_the_objects_of_one_namespace_as_data(
    kube: Kube, demo: RunningOperator, admin_kubeconfig: Path
) -> None:
    kubectl_okr = Path(sys.executable).parent / "kubectl-okr"
    command = [
        str(kubectl_okr), "get", "-n", "team-reliability", "--output", "json",
        "--kubeconfig", str(admin_kubeconfig),
    ]  # fmt: skip
    statuses, out = _while_unchanged(kube, demo, command, dict(os.environ))
    rows = json.loads(out)
    assert [(row["kind"], row["name"]) for row in rows] == [
        ("Objective", "customers-dont-notice-incidents"),
        ("KeyResult", "checkout-p95-latency"),
        ("KeyResult", "customer-facing-incidents"),
        ("KeyResult", "oncall-escalations"),
    ]
    for row in rows:
        status = statuses[(row["kind"], "team-reliability", row["name"])]
        assert (row["progress"], row["health"]) == (status["progress"], status["health"])
        if row["kind"] == "KeyResult":
            assert row["value"] == status["value"]
