"""What kstatus concludes from the status the operator writes, on the real apiserver.

kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status) is what Flux's health checks,
kpt and ``kstatus wait`` compute; hack/harness/kstatus runs it on live objects
read through a kubeconfig. The statuses are built by the operator's own code
(services.problems, domain.conditions, api.status) and written through the status
subresource, as the operator writes them.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest

from okr_operator.api.status import key_result_status_to_dict, objective_status_to_dict
from okr_operator.domain.conditions import set_conditions
from okr_operator.domain.model import (
    ConditionStatus,
    ConditionType,
    Health,
    KeyResultStatus,
    ObjectiveStatus,
    Problem,
    Reason,
)
from okr_operator.services.problems import problem_status
from tests.conftest import Kubectl
from tests.support.bench import Bench
from tests.support.harness import require_harness

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crds")]

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TRUE = ConditionStatus.TRUE
KEY_RESULT_SPEC: dict[str, Any] = {
    "objectiveRef": {"name": "fast-checkout"},
    "query": "sum(increase(incidents_total[5m]))",
    "baseline": 12,
    "target": 3,
}
INVALID = "KeyResult {ns}/{name}: spec.interval: '5x' is not a duration"


def healthy() -> KeyResultStatus:
    conditions = set_conditions(
        (),
        {
            ConditionType.READY: (TRUE, str(Reason.EVALUATED), "evaluated: value 7"),
            ConditionType.DATA_AVAILABLE: (TRUE, str(Reason.DATA_RECEIVED), "one sample"),
        },
        now=NOW,
        generation=1,
    )
    return KeyResultStatus(
        observed_generation=1,
        value=7.0,
        value_time=NOW,
        progress=0.5556,
        expected_progress=0.6,
        health=Health.AT_RISK,
        last_evaluation_time=NOW,
        conditions=conditions,
    )


def failing(reason: Reason, message: str) -> KeyResultStatus:
    return problem_status(KeyResultStatus(), Problem(reason, message), generation=1, now=NOW)


def create(kubectl: Kubectl, ns: str, kind: str, name: str, spec: dict[str, Any]) -> None:
    body = {"apiVersion": "okr.dev/v1alpha1", "kind": kind, "metadata": {"name": name}}
    kubectl("create", "-n", ns, "-f", "-", input=json.dumps({**body, "spec": spec}))


def write_status(kubectl: Kubectl, ns: str, resource: str, status: dict[str, Any]) -> None:
    kubectl(
        "patch", resource, "-n", ns, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": status}),
    )  # fmt: skip


def kstatus(bench: Bench, ns: str, resource: str, *names: str) -> dict[str, dict[str, Any]]:
    harness = require_harness("kstatus")
    args = ["--kubeconfig", str(bench.kubeconfig), "--resource", resource, "-n", ns, *names]
    done = subprocess.run(
        [str(harness), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    return {result.pop("name"): result for result in results}


def test_kstatus_should_read_terminal_failed_transient_in_progress_and_healthy_current(
    bench: Bench, kubectl: Kubectl, kube_namespace: str
) -> None:
    ns = kube_namespace
    invalid = INVALID.format(ns=ns, name="invalid")
    statuses = {
        "invalid": failing(Reason.INVALID_SPEC, invalid),
        "query-failed": failing(Reason.QUERY_FAILED, "Post ...: connection refused"),
        "no-objective": failing(
            Reason.REFERENCE_NOT_FOUND,
            f"Objective {ns}/fast-checkout (spec.objectiveRef) not found",
        ),
        "healthy": healthy(),
    }
    for name, status in statuses.items():
        create(kubectl, ns, "KeyResult", name, KEY_RESULT_SPEC)
        write_status(kubectl, ns, f"kr/{name}", key_result_status_to_dict(status))

    stalled = {"type": "Stalled", "status": "True", "reason": "InvalidSpec", "message": invalid}
    assert kstatus(bench, ns, "keyresults", *statuses) == {
        "invalid": {"status": "Failed", "message": invalid, "conditions": [stalled]},
        "query-failed": {
            "status": "InProgress",
            "message": "Post ...: connection refused",
            "conditions": [
                {
                    "type": "Reconciling",
                    "status": "True",
                    "reason": "QueryFailed",
                    "message": "Post ...: connection refused",
                }
            ],
        },
        "no-objective": {
            "status": "InProgress",
            "message": f"Objective {ns}/fast-checkout (spec.objectiveRef) not found",
            "conditions": [
                {
                    "type": "Reconciling",
                    "status": "True",
                    "reason": "ReferenceNotFound",
                    "message": f"Objective {ns}/fast-checkout (spec.objectiveRef) not found",
                }
            ],
        },
        "healthy": {"status": "Current", "message": "Resource is Ready", "conditions": []},
    }


def test_kstatus_should_read_a_spec_change_not_yet_evaluated_as_in_progress(
    bench: Bench, kubectl: Kubectl, kube_namespace: str
) -> None:
    ns = kube_namespace
    create(kubectl, ns, "KeyResult", "changed", KEY_RESULT_SPEC)
    write_status(kubectl, ns, "kr/changed", key_result_status_to_dict(healthy()))
    assert kstatus(bench, ns, "keyresults", "changed")["changed"]["status"] == "Current"

    kubectl("patch", "kr/changed", "-n", ns, "--type=merge", "-p", '{"spec": {"target": 2}}')
    message = "KeyResult generation is 2, but latest observed generation is 1"
    assert kstatus(bench, ns, "keyresults", "changed") == {
        "changed": {
            "status": "InProgress",
            "message": message,
            "conditions": [
                {
                    "type": "Reconciling",
                    "status": "True",
                    "reason": "LatestGenerationNotObserved",
                    "message": message,
                }
            ],
        }
    }


def test_kstatus_should_read_an_objective_in_a_cycle_as_failed(
    bench: Bench, kubectl: Kubectl, kube_namespace: str
) -> None:
    ns = kube_namespace
    cycle = f"spec.parentRef forms a cycle: {ns}/a → {ns}/b → {ns}/a"
    create(
        kubectl, ns, "Objective", "a",
        {"title": "A", "period": {"quarter": "2026-Q4"}, "parentRef": {"name": "b"}},
    )  # fmt: skip
    status = problem_status(
        ObjectiveStatus(), Problem(Reason.CYCLE_DETECTED, cycle), generation=1, now=NOW
    )
    write_status(kubectl, ns, "obj/a", objective_status_to_dict(status))
    stalled = {"type": "Stalled", "status": "True", "reason": "CycleDetected", "message": cycle}
    assert kstatus(bench, ns, "objectives", "a") == {
        "a": {"status": "Failed", "message": cycle, "conditions": [stalled]}
    }
