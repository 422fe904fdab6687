"""``okr preview`` where no query is sent: what it says without a cluster, bad specs, lost refs.

The evaluation against a real Prometheus is tested end to end (tests/e2e/test_cli_demo.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from okr_operator.cli import main

pytestmark = pytest.mark.unit

MANIFESTS = """\
apiVersion: okr.dev/v1alpha1
kind: Objective
metadata: {name: goal}
spec: {title: Goal, period: {quarter: 2026-Q4}}
---
apiVersion: okr.dev/v1alpha1
kind: PrometheusSource
metadata: {name: thanos}
spec:
  url: https://thanos.example.com
  bearerTokenSecretRef: {name: thanos-token, key: token}
---
apiVersion: okr.dev/v1alpha1
kind: KeyResult
metadata: {name: with-token}
spec:
  objectiveRef: {name: goal}
  sourceRef: {kind: PrometheusSource, name: thanos}
  query: max(up)
  target: 1
  direction: StayAbove
---
apiVersion: okr.dev/v1alpha1
kind: KeyResult
metadata: {name: lost}
spec: {objectiveRef: {name: elsewhere}, query: max(up), target: 1, direction: StayAbove}
---
apiVersion: okr.dev/v1alpha1
kind: KeyResult
metadata: {name: broken}
spec: {objectiveRef: {name: goal}, query: max(up), target: 1, interval: 1s}
"""


def test_without_a_cluster_each_object_says_why_it_was_not_evaluated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    path = tmp_path / "okrs.yaml"
    path.write_text(MANIFESTS)
    at = "2026-11-15T12:00:00Z"
    with pytest.raises(SystemExit) as exited:
        main(["preview", "-f", str(path), "-n", "team-a", "--at", at, "--output", "json"])
    assert exited.value.code == 1  # objects that cannot be evaluated fail the preview
    body = json.loads(capsys.readouterr().out)
    assert body["at"] == "2026-11-15T12:00:00+00:00"
    ready = {
        row["name"]: next(c for c in row["conditions"] if c["type"] == "Ready")
        for row in body["objects"]
    }
    assert ready["with-token"]["reason"] == "ReferenceNotFound"
    assert ready["with-token"]["message"].startswith(
        "PrometheusSource thanos (spec.sourceRef) reads credentials or a CA from the cluster, "
        "and there is none (no cluster to read from: "
    )
    assert ready["lost"] == {
        "type": "Ready",
        "status": "False",
        "reason": "ReferenceNotFound",
        "message": "Objective team-a/elsewhere (spec.objectiveRef) is not in the files given",
    }
    assert ready["broken"] == {
        "type": "Ready",
        "status": "False",
        "reason": "InvalidSpec",
        "message": "KeyResult team-a/broken: spec.interval: must be at least 10s, got 1s",
    }
    goal = next(row for row in body["objects"] if row["name"] == "goal")
    # Its one valid key result counts (the invalid one is left out, as in the engine).
    assert (goal["health"], goal["progress"], ready["goal"]["message"]) == (
        "Unknown",
        None,
        "rolled up 1 member",
    )


def test_at_must_carry_an_offset(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["preview", "-f", "-", "--at", "2026-11-15T12:00:00"])
    assert exited.value.code == 2
    assert "time '2026-11-15T12:00:00' needs a UTC offset such as Z" in capsys.readouterr().err
