"""The Argo CD health checks in examples/argocd/, run the way Argo CD runs them.

Argo CD runs a custom health script with gopher-lua, with the live object in the global
``obj`` and only the base, table, package and a reduced os library, unless argocd-cm
sets ``resource.customizations.useOpenLibs.<group>_<kind>``. The harness in
hack/harness/argocd-lua (built by ``hack/tools.sh``) sets up gopher-lua, at the version
Argo CD pins, as Argo CD's util/lua does and reads the shipped argocd-cm.yaml as Argo
CD's settings do: it is the authority here. (Debian's lua5.1, which these tests used
before, opens every library and passed scripts that show Unknown in Argo CD.) Each case
is a realistic object and the complete (status, message) Argo CD would show.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.harness import require_harness
from tests.support.helm import REPO_ROOT

pytestmark = pytest.mark.unit

ARGOCD_DIR = REPO_ROOT / "examples" / "argocd"
ARGOCD_CM = ARGOCD_DIR / "argocd-cm.yaml"
SCRIPTS = {
    "KeyResult": ARGOCD_DIR / "health" / "okr.dev_KeyResult.lua",
    "Objective": ARGOCD_DIR / "health" / "okr.dev_Objective.lua",
}


@pytest.fixture(scope="module")
def harness() -> Path:
    return require_harness("argocd-lua")


def argo_health(harness: Path, configmap: Path, *objs: dict[str, Any]) -> list[dict[str, str]]:
    """What Argo CD shows for each object under ``configmap``: {status, message[, error]}."""
    done = subprocess.run(
        [str(harness), "--configmap", str(configmap)],
        input="".join(json.dumps(obj) + "\n" for obj in objs),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def configmap_with(tmp_path: Path, data: dict[str, str]) -> Path:
    path = tmp_path / "argocd-cm.yaml"
    path.write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "data": data}), encoding="utf-8"
    )
    return path


NOW = "2026-11-23T10:00:00Z"


def condition(
    type_: str, status: str, reason: str, message: str, generation: int = 1
) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": NOW,
        "observedGeneration": generation,
    }


def key_result(generation: int = 1, status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "okr.dev/v1alpha1",
        "kind": "KeyResult",
        "metadata": {"name": "p95-latency", "namespace": "team-payments", "generation": generation},
        "spec": {
            "objectiveRef": {"name": "fast-checkout"},
            "query": "histogram_quantile(0.95, sum by (le) (rate(http_duration_bucket[5m])))",
            "baseline": 0.8,
            "target": 0.3,
        },
        "status": status,
    }


def objective(generation: int = 1, status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "okr.dev/v1alpha1",
        "kind": "Objective",
        "metadata": {
            "name": "fast-checkout",
            "namespace": "team-payments",
            "generation": generation,
        },
        "spec": {"title": "Checkout is fast", "period": {"quarter": "2026-Q4"}},
        "status": status,
    }


READY = condition("Ready", "True", "Evaluated", "evaluated")
DATA = condition("DataAvailable", "True", "DataReceived", "one sample")


def evaluated(health: str, progress: float | None, expected: float, **extra: Any) -> dict[str, Any]:
    return {
        "observedGeneration": 1,
        "health": health,
        "progress": progress,
        "expectedProgress": expected,
        "lastEvaluationTime": NOW,
        "conditions": [READY, DATA],
        **extra,
    }


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    obj: dict[str, Any]
    status: str
    message: str


CASES = [
    Case(
        "A key result the operator has not seen should be Progressing",
        "KeyResult",
        key_result(),
        "Progressing",
        "Waiting for the operator's first evaluation",
    ),
    Case(
        "A key result with only kopf's bookkeeping in status should be Progressing",
        "KeyResult",
        key_result(status={"kopf": {"progress": {}}}),
        "Progressing",
        "Waiting for the operator's first evaluation",
    ),
    Case(
        "A spec change not yet evaluated should be Progressing even if the old spec failed",
        "KeyResult",
        key_result(
            generation=3,
            status={
                **evaluated("Unknown", None, 0.41),
                "observedGeneration": 2,
                "conditions": [
                    condition("Ready", "False", "QueryFailed", "bad_data: parse error", 2)
                ],
            },
        ),
        "Progressing",
        "Waiting for the operator to evaluate generation 3",
    ),
    Case(
        "A query Prometheus rejects should be Degraded with Prometheus's error",
        "KeyResult",
        key_result(
            status={
                **evaluated("Unknown", None, 0.41),
                "conditions": [
                    condition(
                        "Ready",
                        "False",
                        "QueryFailed",
                        'bad_data: 1:24: parse error: unexpected "}"',
                    )
                ],
            }
        ),
        "Degraded",
        'QueryFailed: bad_data: 1:24: parse error: unexpected "}"',
    ),
    Case(
        "A key result before its period should be Progressing",
        "KeyResult",
        key_result(status=evaluated("Pending", None, 0.0)),
        "Progressing",
        "Pending: the period has not started",
    ),
    Case(
        "An on-track key result should be Healthy with progress and expected",
        "KeyResult",
        key_result(status=evaluated("OnTrack", 0.456, 0.41)),
        "Healthy",
        "OnTrack: progress 46% (expected 41%)",
    ),
    Case(
        "An at-risk key result should stay Healthy and say so",
        "KeyResult",
        key_result(status=evaluated("AtRisk", 0.3, 0.41)),
        "Healthy",
        "AtRisk: progress 30% (expected 41%)",
    ),
    Case(
        "An off-track key result should stay Healthy and say so",
        "KeyResult",
        key_result(status=evaluated("OffTrack", 0.05, 0.41)),
        "Healthy",
        "OffTrack: progress 5% (expected 41%)",
    ),
    Case(
        "A key result without data should stay Healthy and name the reason",
        "KeyResult",
        key_result(
            status={
                **evaluated("Unknown", None, 0.41),
                "conditions": [
                    READY,
                    condition("DataAvailable", "False", "NoData", "the query returned no series"),
                ],
            }
        ),
        "Healthy",
        "Unknown: progress unknown (expected 41%); no data: NoData: the query returned no series",
    ),
    Case(
        "An achieved key result should be Healthy with its grade",
        "KeyResult",
        key_result(status=evaluated("Achieved", 1.0, 1.0, grade=1.0)),
        "Healthy",
        "Achieved: grade 100%",
    ),
    Case(
        "A missed key result should be Healthy with its grade",
        "KeyResult",
        key_result(status=evaluated("Missed", 0.62, 1.0, grade=0.62)),
        "Healthy",
        "Missed: grade 62%",
    ),
    Case(
        "An objective the operator has not seen should be Progressing",
        "Objective",
        objective(),
        "Progressing",
        "Waiting for the operator's first evaluation",
    ),
    Case(
        "An objective whose parent does not exist should be Degraded",
        "Objective",
        objective(
            status={
                **evaluated("OnTrack", 0.5, 0.41),
                "conditions": [
                    condition(
                        "Ready",
                        "False",
                        "ReferenceNotFound",
                        "spec.parentRef: Objective company/grow-revenue not found",
                    )
                ],
            }
        ),
        "Degraded",
        "ReferenceNotFound: spec.parentRef: Objective company/grow-revenue not found",
    ),
    Case(
        "An at-risk objective should stay Healthy and count its key results worst first",
        "Objective",
        objective(
            status=evaluated(
                "AtRisk",
                0.4,
                0.55,
                keyResults={"total": 4, "OnTrack": 2, "AtRisk": 1, "OffTrack": 1, "Unknown": 0},
            )
        ),
        "Healthy",
        "AtRisk: progress 40% (expected 55%); key results: 1 OffTrack, 1 AtRisk, 2 OnTrack",
    ),
    Case(
        "An objective of child objectives only should show no key result counts",
        "Objective",
        objective(status=evaluated("OnTrack", 0.6, 0.55, keyResults={"total": 0})),
        "Healthy",
        "OnTrack: progress 60% (expected 55%)",
    ),
    Case(
        "A missed objective should be Healthy with its grade and counts",
        "Objective",
        objective(
            status=evaluated(
                "Missed", 0.7, 1.0, grade=0.7, keyResults={"total": 2, "Achieved": 1, "Missed": 1}
            )
        ),
        "Healthy",
        "Missed: grade 70%; key results: 1 Missed, 1 Achieved",
    ),
    Case(
        "An objective in a parentRef cycle should be Degraded",
        "Objective",
        objective(
            status={
                **evaluated("Unknown", None, 0.41),
                "conditions": [
                    condition(
                        "Ready",
                        "False",
                        "CycleDetected",
                        "spec.parentRef: team-payments/fast-checkout -> company/x -> "
                        "team-payments/fast-checkout",
                    )
                ],
            }
        ),
        "Degraded",
        "CycleDetected: spec.parentRef: team-payments/fast-checkout -> company/x -> "
        "team-payments/fast-checkout",
    ),
]


def test_case_table_should_cover_every_rule() -> None:
    assert len(CASES) == 17


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_health_check_should_report_in_argo_cd_with_the_shipped_configmap(
    case: Case, harness: Path
) -> None:
    assert argo_health(harness, ARGOCD_CM, case.obj) == [
        {"status": case.status, "message": case.message}
    ]


def test_health_checks_should_not_depend_on_use_open_libs(harness: Path, tmp_path: Path) -> None:
    cm = yaml.safe_load(ARGOCD_CM.read_text(encoding="utf-8"))
    open_libs = configmap_with(
        tmp_path,
        {
            **cm["data"],
            "resource.customizations.useOpenLibs.okr.dev_KeyResult": "true",
            "resource.customizations.useOpenLibs.okr.dev_Objective": "true",
        },
    )
    expected = [{"status": case.status, "message": case.message} for case in CASES]
    assert argo_health(harness, open_libs, *(case.obj for case in CASES)) == expected


# The percent formatting the scripts had until they ran here: Debian's lua5.1 ran it,
# Argo CD showed every evaluated object as Unknown with this error.
OLD_PERCENT = 'return {status = "Healthy", message = string.format("%d%%", math.floor(45.6 + 0.5))}'


def test_harness_should_run_scripts_without_string_and_math_unless_use_open_libs(
    harness: Path, tmp_path: Path
) -> None:
    kr = key_result()
    health_key = "resource.customizations.health.okr.dev_KeyResult"
    closed = configmap_with(tmp_path, {health_key: OLD_PERCENT})
    error = "<string>:1: attempt to index a non-table object(nil) with key 'format'"
    assert argo_health(harness, closed, kr) == [
        {"status": "Unknown", "message": error, "error": error}
    ]
    opened = configmap_with(
        tmp_path,
        {health_key: OLD_PERCENT, "resource.customizations.useOpenLibs.okr.dev_KeyResult": "true"},
    )
    assert argo_health(harness, opened, kr) == [{"status": "Healthy", "message": "46%"}]


def test_argocd_cm_snippet_should_embed_the_scripts_verbatim_and_nothing_else() -> None:
    cm = yaml.safe_load(ARGOCD_CM.read_text(encoding="utf-8"))
    assert cm["data"] == {
        f"resource.customizations.health.okr.dev_{kind}": path.read_text(encoding="utf-8")
        for kind, path in SCRIPTS.items()
    }
