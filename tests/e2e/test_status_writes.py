"""Status writes follow real change, not the number of evaluations.

A second operator watches only this test's namespace with
``--status-interval 1h``: evaluations every 10 s must not rewrite an
unchanged status, while a spec change is written at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e import history
from tests.e2e.test_key_results import evaluated, key_result, objective, series
from tests.support.processes import RunningProcess
from tests.support.runner import Kube, RunningOperator, start_operator

pytestmark = pytest.mark.e2e


def samples(exposition: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of metric ``name``, keyed by its sorted labels."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


@pytest.fixture
def quiet(kube: Kube) -> str:
    """A namespace outside the session operator's glob."""
    name = f"quiet-{uuid.uuid4().hex[:8]}"
    kube.core.create_namespace({"metadata": {"name": name}})
    return name


@pytest.fixture
def quiet_operator(
    operator_kubeconfig: Path, prometheus: RunningProcess, quiet: str, tmp_path: Path
) -> Iterator[RunningOperator]:
    running = start_operator(
        kubeconfig=operator_kubeconfig,
        prometheus_url=prometheus.url,
        workdir=tmp_path,
        namespaces=[quiet],
        status_interval="1h",
    )
    yield running
    running.stop()


def test_unchanged_status_is_not_rewritten_but_a_spec_change_is(
    kube: Kube, quiet: str, quiet_operator: RunningOperator
) -> None:
    ns = quiet
    kube.create(objective(ns))
    kube.create(key_result(ns, "kr", series("ontrack"), 200, baseline=100))
    first = kube.wait_status("KeyResult", ns, "kr", evaluated, what="a health")

    def evaluations() -> float:
        text = quiet_operator.metrics()
        return sum(samples(text, "okr_evaluations_total").values())

    kube.wait("four evaluations", lambda: evaluations() >= 4, timeout=60)
    writes = samples(quiet_operator.metrics(), "okr_status_writes_total")
    assert writes[(("kind", "KeyResult"),)] == 1.0
    assert (
        kube.get("KeyResult", ns, "kr")["status"]["lastEvaluationTime"]
        == first["lastEvaluationTime"]
    )

    kube.patch_spec("KeyResult", ns, "kr", {"target": 400})
    second = kube.wait_status(
        "KeyResult",
        ns,
        "kr",
        lambda s: s.get("observedGeneration") == 2,
        what="generation 2",
        timeout=20,
    )
    assert (second["progress"], second["health"]) == (0.2, "OffTrack")
    writes = samples(quiet_operator.metrics(), "okr_status_writes_total")
    assert writes[(("kind", "KeyResult"),)] == 2.0


def test_a_restart_resumes_from_status_without_queries_writes_or_events(
    kube: Kube,
    quiet: str,
    operator_kubeconfig: Path,
    prometheus: RunningProcess,
    tmp_path: Path,
) -> None:
    ns = quiet

    def start(name: str) -> RunningOperator:
        return start_operator(
            kubeconfig=operator_kubeconfig,
            prometheus_url=prometheus.url,
            workdir=tmp_path / name,
            namespaces=[ns],
            status_interval="1h",
        )

    kube.create(objective(ns))
    kube.create(key_result(ns, "hourly", series("ontrack"), 200, baseline=100, interval="1h"))
    first = start("first")
    try:
        before = kube.wait_status("KeyResult", ns, "hourly", evaluated, what="a health")
        kube.wait("the HealthChanged Event", lambda: kube.events(ns, "hourly"))
    finally:
        first.stop()

    second = start("second")
    try:
        key = (("key_result", "hourly"), ("namespace", ns), ("objective", "goal"))
        values = kube.wait(
            "the restored value in /metrics",
            lambda: samples(second.metrics(), "okr_key_result_value").get(key),
            timeout=20,
        )
        assert values == 160.0
        exposition = kube.wait(
            "the period of the restored key result",
            lambda: (
                (text := second.metrics())
                and key in samples(text, "okr_key_result_period_start_timestamp_seconds")
                and text
            ),
            timeout=20,
        )
        starts = samples(exposition, "okr_key_result_period_start_timestamp_seconds")
        assert starts[key] == history.START.timestamp()
        assert sum(samples(exposition, "okr_evaluations_total").values()) == 0.0
        assert samples(exposition, "okr_status_writes_total").get((("kind", "KeyResult"),)) is None
    finally:
        second.stop()
    assert kube.get("KeyResult", ns, "hourly")["status"] == before
    assert [e.message for e in kube.events(ns, "hourly")] == [
        "Unknown → OnTrack (progress 0.60, expected 0.50)"
    ]


def test_an_objectives_new_progress_is_written_within_an_interval_when_its_health_stays(
    kube: Kube, quiet: str, quiet_operator: RunningOperator
) -> None:
    # --status-interval is 1h here: only the write rule can bring the new
    # progress to kubectl within one interval (10 s, objectives and members).
    ns = quiet
    kube.create(objective(ns, rollup="Weakest"))
    kube.create(key_result(ns, "off", series("offtrack"), 200, baseline=100))
    kube.create(key_result(ns, "on", series("ontrack"), 200, baseline=100))
    kube.wait_status(
        "Objective",
        ns,
        "goal",
        lambda s: (s.get("progress"), s.get("health")) == (0.35, "OffTrack"),
        what="progress 0.35 and OffTrack",
    )
    kube.patch_spec("KeyResult", ns, "on", {"target": 180})  # 0.6 → 0.75, still OnTrack
    member = kube.wait_status(
        "KeyResult", ns, "on", lambda s: s.get("observedGeneration") == 2, what="generation 2"
    )
    assert (member["progress"], member["health"]) == (0.75, "OnTrack")
    goal = kube.wait_status(
        "Objective",
        ns,
        "goal",
        lambda s: s.get("progress") == 0.425,
        what="progress 0.425",
        timeout=10 + 2,
    )
    assert goal["health"] == "OffTrack"
