"""Issue 10 (items 1-5): check-ins on the real kube-apiserver and Prometheus.

CheckIns are written as a user would (``kubectl okr check-in`` as the admin, or
plain manifests); the operator runs as the chart's ServiceAccount, so its RBAC
for checkins is proven too. Periods run 50 days either side of history.ANCHOR:
expected progress is 0.5.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from tests.e2e.obs_alerting import routing_team_to, scraping_operator, wait_for
from tests.e2e.obs_webhook import WebhookReceiver
from tests.e2e.test_key_results import evaluated, key_result, objective, series
from tests.e2e.test_observability import ALERT_WAIT, labelled, notified, unique_team
from tests.support.bench import Bench
from tests.support.runner import Kube, RunningOperator, condition

pytestmark = pytest.mark.e2e


def check_in(ns: str, name: str, kr: str, confidence: float, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "okr.dev/v1alpha1",
        "kind": "CheckIn",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"keyResultRef": {"name": kr}, "confidence": confidence, **spec},
    }


def manual_key_result(ns: str, name: str, target: float, **spec: Any) -> dict[str, Any]:
    body = key_result(ns, name, "unused", target, manual=True, **spec)
    del body["spec"]["query"]
    return body


def okr(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return subprocess.run(
        [sys.executable, "-m", "okr_operator", *args],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


def ready(kube: Kube, ns: str, name: str, reason: str) -> dict[str, Any]:
    return kube.wait(
        f"CheckIn {ns}/{name}: Ready reason {reason}",
        lambda: (
            condition(kube.get("CheckIn", ns, name).get("status") or {}, "Ready")
            if condition(kube.get("CheckIn", ns, name).get("status") or {}, "Ready").get("reason")
            == reason
            else None
        ),
    )


def metric(text: str, name: str, ns: str, kr: str) -> float | None:
    prefix = f'{name}{{key_result="{kr}",namespace="{ns}",objective="goal"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return None


def test_a_check_in_from_kubectl_okr_shows_in_status_and_metrics(
    kube: Kube, ns: str, operator: RunningOperator, admin_kubeconfig: Path
) -> None:
    kube.create(objective(ns))
    kube.create(key_result(ns, "kr", series("ontrack"), 200, baseline=100))
    kube.wait_status("KeyResult", ns, "kr", evaluated, what="a health")

    printed = okr(
        admin_kubeconfig, "check-in", "kr", "-n", ns, "--confidence", "0.7",
        "--note", "on track, the migration blocks us", "--blocker", "migration",
        "--name", "week-1", "--dry-run", "-o", "yaml",
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    manifest = yaml.safe_load(printed.stdout)
    with pytest.raises(ApiException):
        kube.get("CheckIn", ns, "week-1")  # --dry-run created nothing
    created = okr(
        admin_kubeconfig, "check-in", "kr", "-n", ns, "--confidence", "0.7",
        "--note", "on track, the migration blocks us", "--blocker", "migration",
        "--name", "week-1",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("checkin.okr.dev/week-1 created")
    stored = kube.get("CheckIn", ns, "week-1")
    assert stored["spec"] == manifest["spec"]
    # The author is the kubeconfig context's user; the bench's admin user is not empty.
    assert stored["spec"]["author"]

    status = kube.wait_status(
        "KeyResult", ns, "kr", lambda s: bool(s.get("checkIn")), what="status.checkIn",
        log=operator.log_tail(),
    )  # fmt: skip
    check = status["checkIn"]
    assert (check["name"], check["confidence"], check["note"]) == (
        "week-1", 0.7, "on track, the migration blocks us",
    )  # fmt: skip
    assert check["author"] == stored["spec"]["author"]
    assert check["time"] == stored["metadata"]["creationTimestamp"]
    assert check["blockers"] == ["migration"]  # kept by the CRD's status schema
    assert "checkInDue" not in status or status["checkInDue"] is None  # no cadence
    assert ready(kube, ns, "week-1", "Recorded")["status"] == "True"

    created_at = datetime.fromisoformat(stored["metadata"]["creationTimestamp"]).timestamp()

    def exported() -> tuple[float | None, float | None] | None:
        text = operator.metrics()
        found = (
            metric(text, "okr_key_result_confidence_ratio", ns, "kr"),
            metric(text, "okr_key_result_last_check_in_timestamp_seconds", ns, "kr"),
        )
        return found if None not in found else None

    assert kube.wait("the check-in metrics", exported) == (0.7, created_at)
    # The next history point carries the confidence in force (today's point is replaced
    # at the next evaluation, 10 s later).
    status = kube.wait_status(
        "KeyResult", ns, "kr", lambda s: s["history"][-1].get("confidence") == 0.7,
        what="history with confidence",
    )  # fmt: skip


def test_bad_check_ins(kube: Kube, ns: str, operator: RunningOperator) -> None:
    kube.create(objective(ns))
    kube.create(key_result(ns, "measured", series("ontrack"), 200, baseline=100))
    # Confidence outside 0..1 is refused by the API server itself.
    with pytest.raises(ApiException) as refused:
        kube.create(check_in(ns, "too-sure", "measured", 1.5))
    assert refused.value.status == 422
    assert "spec.confidence" in refused.value.body
    # Exactly one of query or manual.
    both = key_result(ns, "both", series("ontrack"), 200, manual=True)
    with pytest.raises(ApiException) as refused:
        kube.create(both)
    assert "exactly one of spec.query or spec.manual" in refused.value.body

    kube.create(check_in(ns, "lost", "no-such-kr", 0.5))
    lost = ready(kube, ns, "lost", "ReferenceNotFound")
    assert lost["status"] == "False"
    assert lost["message"] == f"KeyResult {ns}/no-such-kr (spec.keyResultRef) not found"

    kube.create(check_in(ns, "valued", "measured", 0.9, value=999))
    ignored = ready(kube, ns, "valued", "ValueIgnored")
    assert ignored["status"] == "True"
    assert "spec.value is ignored" in ignored["message"]
    status = kube.wait_status(
        "KeyResult", ns, "measured", lambda s: bool(s.get("checkIn")), what="status.checkIn"
    )
    assert status["value"] == 160.0  # the query's value, not 999

    # Two check-ins with the same time: the later by name wins, not the later to arrive.
    kube.create(key_result(ns, "tied", series("ontrack"), 200, baseline=100))
    same = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0).isoformat()
    kube.create(check_in(ns, "tie-b", "tied", 0.4, time=same))
    kube.wait_status(
        "KeyResult", ns, "tied", lambda s: (s.get("checkIn") or {}).get("name") == "tie-b",
        what="tie-b in status",
    )  # fmt: skip
    kube.create(check_in(ns, "tie-a", "tied", 0.6, time=same))
    settled = datetime.fromisoformat(ready(kube, ns, "tie-a", "Recorded")["lastTransitionTime"])
    # An evaluation that began after tie-a was taken in (its condition was set later).
    status = kube.wait_status(
        "KeyResult", ns, "tied",
        lambda s: datetime.fromisoformat(s["lastEvaluationTime"]) > settled,
        what="an evaluation after tie-a arrived",
    )  # fmt: skip
    assert (status["checkIn"]["name"], status["checkIn"]["confidence"]) == ("tie-b", 0.4)


def test_a_manual_key_result_is_graded_from_its_check_ins_and_rolls_up(
    kube: Kube, ns: str, operator: RunningOperator
) -> None:
    kube.create(objective(ns))
    kube.create(manual_key_result(ns, "survey", 10, baseline=0, unit="points"))
    kube.create(key_result(ns, "measured", series("ontrack"), 200, baseline=100))  # 0.6
    waiting = kube.wait_status(
        "KeyResult", ns, "survey",
        lambda s: condition(s, "DataAvailable").get("reason") == "NoData",
        what="NoData before any check-in", log=operator.log_tail(),
    )  # fmt: skip
    assert waiting["health"] == "Unknown"
    assert "no CheckIn with spec.value" in condition(waiting, "DataAvailable")["message"]

    earlier = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0).isoformat()
    kube.create(check_in(ns, "week-1", "survey", 0.9, value=3, time=earlier))
    kube.wait_status(
        "KeyResult", ns, "survey", lambda s: s.get("value") == 3.0, what="the first value"
    )
    kube.create(check_in(ns, "week-2", "survey", 0.6, value=5, note="vendor late"))
    status = kube.wait_status(
        "KeyResult", ns, "survey", lambda s: s.get("value") == 5.0, what="the latest value",
        log=operator.log_tail(),
    )  # fmt: skip
    assert (status["progress"], status["health"]) == (0.5, "OnTrack")
    assert status["display"] == {"value": "5 points", "target": "10 points"}
    assert status["checkIn"]["name"] == "week-2"
    assert condition(status, "Ready")["reason"] == "Evaluated"
    assert ready(kube, ns, "week-2", "Recorded")["status"] == "True"
    goal = kube.wait_status(
        "Objective", ns, "goal", lambda s: s.get("progress") == 0.55, what="the rollup"
    )
    assert goal["keyResults"]["total"] == 2

    events = kube.wait(
        "a ConfidenceDropped Event",
        lambda: [e for e in kube.events(ns, "survey") if e.reason == "ConfidenceDropped"],
    )
    assert [e.message for e in events] == [
        "confidence dropped from 0.90 to 0.60 (CheckIn week-2): vendor late"
    ]
    assert events[0].type == "Warning"

    # Deleting the newest check-in falls back to the one before.
    kube.custom.delete_namespaced_custom_object("okr.dev", "v1alpha1", ns, "checkins", "week-2")
    status = kube.wait_status(
        "KeyResult", ns, "survey", lambda s: s.get("value") == 3.0, what="the previous value"
    )
    assert status["progress"] == 0.3
    assert status["checkIn"]["name"] == "week-1"


@pytest.fixture(scope="module")
def scraped(bench: Bench, operator: RunningOperator) -> Any:
    with scraping_operator(bench, operator.metrics_url) as instance:
        yield instance


def test_a_due_check_in_reaches_the_team_through_alertmanager_and_resolves(
    bench: Bench, scraped: str, kube: Kube, ns: str, operator: RunningOperator
) -> None:
    team = unique_team()
    receiver = f"{team}-webhook"
    kube.create(labelled(objective(ns, checkIns={"every": "1w"}), team=team))
    kube.create(
        labelled(
            key_result(ns, "kr", series("ontrack"), 200, baseline=100, owner="ana@example.com"),
            team=team,
        )
    )
    # The period began 50 days ago and nobody has checked in: due.
    status = kube.wait_status(
        "KeyResult", ns, "kr", lambda s: s.get("checkInDue") is True, what="checkInDue",
        log=operator.log_tail(),
    )  # fmt: skip
    assert condition(status, "Ready")["reason"] == "Evaluated"  # due is not an error

    with WebhookReceiver() as hook, routing_team_to(bench, team, receiver, hook.url):

        def diagnostics() -> str:
            return f"webhook received:\n{json.dumps(hook.notifications(), indent=1)}"

        fired = wait_for(
            f"OKRKeyResultCheckInDue at receiver {receiver}",
            lambda: notified(hook, ns, "OKRKeyResultCheckInDue", "firing"),
            timeout=ALERT_WAIT,
            diagnostics=diagnostics,
        )
        assert fired["alert"]["labels"] == {
            "alertname": "OKRKeyResultCheckInDue",
            "severity": "info",
            "namespace": ns,
            "objective": "goal",
            "key_result": "kr",
            "team": team,
            "owner": "ana@example.com",
        }
        description = fired["alert"]["annotations"]["description"]
        assert "the last one was never made" in description
        assert f"kubectl okr check-in kr -n {ns} --confidence 0.7" in description

        kube.create(check_in(ns, "now", "kr", 0.8))
        kube.wait_status(
            "KeyResult", ns, "kr", lambda s: s.get("checkInDue") is False, what="not due"
        )
        wait_for(
            "OKRKeyResultCheckInDue resolved",
            lambda: notified(hook, ns, "OKRKeyResultCheckInDue", "resolved"),
            timeout=ALERT_WAIT,
            diagnostics=diagnostics,
        )
