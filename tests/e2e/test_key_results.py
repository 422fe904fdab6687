"""Issue 3 Semantics and Bad data, proven on the real kube-apiserver and Prometheus.

Every test writes objects as a user would and waits for what the operator
writes back. History is in ``tests/e2e/history.py``: periods run 50 days
either side of its ANCHOR, so expected progress is 0.5 throughout.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e import history
from tests.support.runner import Kube, RunningOperator, condition

pytestmark = pytest.mark.e2e

PERIOD = {"start": history.START.isoformat(), "end": history.END.isoformat()}


def objective(ns: str, name: str = "goal", **spec: Any) -> dict[str, Any]:
    """An Objective over the standard period unless ``period`` is given."""
    return {
        "apiVersion": "okr.dev/v1alpha1",
        "kind": "Objective",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"title": f"Objective {name}", "period": PERIOD, **spec},
    }


def key_result(ns: str, name: str, query: str, target: float, **spec: Any) -> dict[str, Any]:
    """A KeyResult of objective ``goal`` evaluated every 10 s unless overridden."""
    body = {"objectiveRef": {"name": "goal"}, "query": query, "target": target, "interval": "10s"}
    return {
        "apiVersion": "okr.dev/v1alpha1",
        "kind": "KeyResult",
        "metadata": {"name": name, "namespace": ns},
        "spec": {**body, **spec},
    }


def series(case: str) -> str:
    """The selector of one e2e series."""
    return f'okr_e2e_value{{case="{case}"}}'


def evaluated(status: dict[str, Any]) -> bool:
    """True once the operator has evaluated the key result with its objective known.

    A watch may deliver a KeyResult before its Objective; the first status then
    says ReferenceNotFound for a moment, which is right but not what a test of
    the evaluation itself waits for.
    """
    return bool(status.get("health")) and condition(status, "Ready").get("reason") not in (
        None,
        "ReferenceNotFound",
    )


def has_health(status: dict[str, Any]) -> bool:
    """True once the operator has written any health."""
    return bool(status.get("health"))


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def up(operator: RunningOperator) -> RunningOperator:
    """The operator, for tests that only need it running."""
    return operator


@pytest.mark.usefixtures("up")
def test_progress_and_health_follow_the_lag_rule(
    kube: Kube, ns: str, operator: RunningOperator
) -> None:
    kube.create(objective(ns))
    cases = {
        # name: (query, spec extras, target, value, baseline, progress, health)
        "on-track": (series("ontrack"), {"baseline": 100}, 200, 160.0, 100.0, 0.6, "OnTrack"),
        "at-risk": (series("atrisk"), {"baseline": 100}, 200, 130.0, 100.0, 0.3, "AtRisk"),
        "off-track": (series("offtrack"), {"baseline": 100}, 200, 110.0, 100.0, 0.1, "OffTrack"),
        "achieved": (series("achieved"), {"baseline": 100}, 200, 250.0, 100.0, 1.0, "Achieved"),
        "latency": (
            series("latency"),
            {"baseline": 800, "unit": "ms"},
            300,
            550.0,
            800.0,
            0.5,
            "OnTrack",
        ),
    }
    displays = {
        "on-track": {"value": "160", "target": "200"},
        "at-risk": {"value": "130", "target": "200"},
        "off-track": {"value": "110", "target": "200"},
        "achieved": {"value": "250", "target": "200"},
        "latency": {"value": "550 ms", "target": "300 ms"},
    }
    for name, (query, extra, target, *_expected) in cases.items():
        kube.create(key_result(ns, name, query, target, **extra))
    for name, (_q, _e, _t, value, baseline, progress, health) in cases.items():
        status = kube.wait_status(
            "KeyResult", ns, name, evaluated, what="a health", log=operator.log_tail()
        )
        assert (status["value"], status["baseline"], status["progress"], status["health"]) == (
            value, baseline, progress, health,
        ), name  # fmt: skip
        assert status["display"] == displays[name]
        assert status["expectedProgress"] == pytest.approx(0.5, abs=0.002)
        assert status["observedGeneration"] == 1
        assert condition(status, "Ready")["status"] == "True"
        assert condition(status, "Ready")["reason"] == "Evaluated"
        assert condition(status, "DataAvailable")["reason"] == "DataReceived"
        # Earlier days come from the backfill (test_history_is_filled_from_the_period_start).
        assert status["history"][-1]["value"] == value
        assert _ts(status["valueTime"]) <= _ts(status["lastEvaluationTime"])
        assert "grade" not in status or status["grade"] is None


@pytest.mark.usefixtures("up")
def test_history_is_filled_from_the_period_start_by_one_range_query(
    kube: Kube, ns: str, operator: RunningOperator
) -> None:
    kube.create(objective(ns))
    kube.create(key_result(ns, "filled", series("ontrack"), 200, baseline=100))
    status = kube.wait_status(
        "KeyResult", ns, "filled", evaluated, what="a health", log=operator.log_tail()
    )
    points = status["history"]
    today = _ts(points[-1]["time"]).date()
    # One point a day at the period start's time of day, up to the evaluation; the
    # day of the evaluation keeps its measured point. The series is 100 until a day
    # before ANCHOR and 160 from then on; the 3h lookback reads the sample 30 minutes
    # before each step, so day 49 (ANCHOR - 1d) still sees 100.
    days = [history.START + timedelta(days=k) for k in range(51)]
    days = [day for day in days if day.astimezone(UTC).date() != today]
    assert [_ts(p["time"]) for p in points[:-1]] == days
    expected_values = [100.0 if day < history.ANCHOR else 160.0 for day in days]
    assert [p["value"] for p in points] == [*expected_values, 160.0]

    # Progress from baseline 100 to target 200; health against the day's expected share
    # (k/100): OnTrack within 0.10 behind, AtRisk within 0.25, OffTrack beyond.
    def health(k: int, progress: float) -> str:
        behind = k / 100 - progress
        return "OnTrack" if behind <= 0.10 else "AtRisk" if behind <= 0.25 else "OffTrack"

    ks = [round((day - history.START) / timedelta(days=1)) for day in days]
    expected_progress = [(v - 100) / 100 for v in expected_values]
    assert [p["progress"] for p in points[:-1]] == expected_progress
    assert [p["health"] for p in points[:-1]] == [
        health(k, prog) for k, prog in zip(ks, expected_progress, strict=True)
    ]
    assert status["forecast"]["basis"]["points"] == len(points)


@pytest.mark.usefixtures("up")
def test_thresholds_are_on_track_or_off_track(kube: Kube, ns: str) -> None:
    kube.create(objective(ns))
    kube.create(key_result(ns, "below", series("failures"), 5, direction="StayBelow"))
    kube.create(key_result(ns, "above", series("failures"), 5, direction="StayAbove"))
    below = kube.wait_status("KeyResult", ns, "below", evaluated, what="a health")
    above = kube.wait_status("KeyResult", ns, "above", evaluated, what="a health")
    assert (below["value"], below["progress"], below["health"]) == (3.0, 1.0, "OnTrack")
    assert (above["value"], above["progress"], above["health"]) == (3.0, 0.0, "OffTrack")


@pytest.mark.usefixtures("up")
def test_baseline_is_captured_at_the_period_start_and_kept(kube: Kube, ns: str) -> None:
    kube.create(objective(ns))
    kube.create(key_result(ns, "captured", series("captured"), 100))
    status = kube.wait_status("KeyResult", ns, "captured", evaluated, what="a health")
    # 40 at the period start, 70 now: direction Increase is inferred.
    assert (status["baseline"], status["value"], status["progress"]) == (40.0, 70.0, 0.5)
    assert status["health"] == "OnTrack"


@pytest.mark.usefixtures("up")
def test_elapsed_is_the_time_since_the_period_start(kube: Kube, ns: str) -> None:
    kube.create(objective(ns))
    query = f"count_over_time({series('ontrack')}[$__elapsed])"
    kube.create(key_result(ns, "samples", query, 0, direction="StayAbove"))
    status = kube.wait_status("KeyResult", ns, "samples", evaluated, what="a health")
    # The window starts within a minute after START (hh:30); samples are on the hour.
    expected = history.samples_in_window(history.START, history.LAST_SAMPLE)
    assert status["value"] == float(expected)


@pytest.mark.usefixtures("up")
def test_pending_before_the_period_starts(kube: Kube, ns: str) -> None:
    later = {
        "start": (history.END + timedelta(days=1)).isoformat(),
        "end": (history.END + timedelta(days=90)).isoformat(),
    }
    kube.create(objective(ns, period=later))
    kube.create(key_result(ns, "later", series("ontrack"), 200, baseline=100))
    status = kube.wait_status("KeyResult", ns, "later", evaluated, what="a health")
    assert status["health"] == "Pending"
    assert status.get("progress") is None
    assert status["expectedProgress"] == 0.0
    assert condition(status, "Ready")["reason"] == "PeriodNotStarted"
    goal = kube.wait_status("Objective", ns, "goal", evaluated, what="a health")
    assert goal["health"] == "Pending"


@pytest.mark.usefixtures("up")
def test_first_seen_after_its_period_it_is_graded_at_the_end(kube: Kube, ns: str) -> None:
    end = history.ANCHOR - timedelta(days=2)
    ended = {"start": (end - timedelta(days=30)).isoformat(), "end": end.isoformat()}
    kube.create(objective(ns, period=ended))
    # "captured" is 40 until a day before ANCHOR, so 40 at the end.
    kube.create(key_result(ns, "half", series("captured"), 80, baseline=0))
    kube.create(key_result(ns, "full", series("captured"), 40, baseline=0))
    half = kube.wait_status("KeyResult", ns, "half", evaluated, what="a health")
    full = kube.wait_status("KeyResult", ns, "full", evaluated, what="a health")
    assert (half["value"], half["grade"], half["health"]) == (40.0, 0.5, "Missed")
    assert (full["value"], full["grade"], full["health"]) == (40.0, 1.0, "Achieved")
    assert _ts(half["valueTime"]) == end.astimezone(UTC).replace(microsecond=0)
    assert condition(half, "Ready")["reason"] == "PeriodEnded"
    goal = kube.wait_status(
        "Objective", ns, "goal", lambda s: s.get("health") in ("Missed", "Achieved"), what="a grade"
    )
    assert (goal["health"], goal["grade"]) == ("Missed", 0.75)


@pytest.mark.usefixtures("up")
def test_bad_data_is_reported_and_isolated(kube: Kube, ns: str, operator: RunningOperator) -> None:
    kube.create(objective(ns))
    kube.create({
        "apiVersion": "okr.dev/v1alpha1", "kind": "PrometheusSource",
        "metadata": {"name": "nowhere", "namespace": ns},
        "spec": {"url": "http://127.0.0.1:9", "timeout": "2s"},
    })  # fmt: skip
    kube.create(key_result(ns, "rejected", "limitk(1, okr_e2e_value)", 1, direction="StayAbove"))
    kube.create(
        key_result(ns, "ambiguous", 'okr_e2e_value{case="multi"}', 1, direction="StayAbove")
    )
    kube.create(key_result(ns, "empty", series("missing"), 1, direction="StayAbove"))
    kube.create(key_result(ns, "zero", series("missing"), 1, direction="StayBelow", onEmpty="Zero"))
    kube.create(key_result(ns, "nan", "vector(0) / 0", 1, direction="StayAbove"))
    kube.create(key_result(ns, "inf", "vector(1) / 0", 1, direction="StayAbove"))
    kube.create(key_result(ns, "unreachable", series("ontrack"), 1, direction="StayAbove",
                           sourceRef={"kind": "PrometheusSource", "name": "nowhere"}))  # fmt: skip
    kube.create(key_result(ns, "healthy", series("ontrack"), 200, baseline=100))
    log = operator.log_tail()
    names = ("rejected", "ambiguous", "empty", "zero", "nan", "inf", "unreachable", "healthy")
    got = {
        name: kube.wait_status("KeyResult", ns, name, evaluated, what="a health", log=log)
        for name in names
    }

    rejected = condition(got["rejected"], "Ready")
    assert (rejected["status"], rejected["reason"]) == ("False", "QueryFailed")
    assert 'unknown function with name "limitk"' in rejected["message"]  # Prometheus's own text

    ambiguous = condition(got["ambiguous"], "Ready")
    assert (ambiguous["status"], ambiguous["reason"]) == ("False", "AmbiguousResult")
    assert ambiguous["message"] == (
        "query returned 4 series, expected one: "
        '{__name__="okr_e2e_value", case="multi", shard="a"}, '
        '{__name__="okr_e2e_value", case="multi", shard="b"}, '
        '{__name__="okr_e2e_value", case="multi", shard="c"} and 1 more'
    )

    empty = got["empty"]
    assert (empty["health"], empty.get("value"), empty.get("progress")) == ("Unknown", None, None)
    assert (
        condition(empty, "DataAvailable")["status"],
        condition(empty, "DataAvailable")["reason"],
    ) == ("False", "NoData")

    assert (got["zero"]["value"], got["zero"]["health"]) == (0.0, "OnTrack")

    for name in ("nan", "inf"):
        data = condition(got[name], "DataAvailable")
        assert (got[name]["health"], data["status"], data["reason"]) == (
            "Unknown",
            "False",
            "NotANumber",
        ), name

    unreachable = condition(got["unreachable"], "Ready")
    assert (unreachable["status"], unreachable["reason"]) == ("False", "QueryFailed")
    assert "cannot reach http://127.0.0.1:9" in unreachable["message"]

    assert (got["healthy"]["health"], got["healthy"]["progress"]) == ("OnTrack", 0.6)


@pytest.mark.usefixtures("up")
def test_missing_references_are_named_and_recover(kube: Kube, ns: str) -> None:
    kube.create(
        key_result(
            ns, "orphan", series("ontrack"), 200, baseline=100, objectiveRef={"name": "later"}
        )
    )
    absent = {"kind": "PrometheusSource", "name": "absent"}
    later = {"name": "later"}
    kube.create(
        key_result(ns, "sourceless", series("ontrack"), 200, objectiveRef=later, sourceRef=absent)
    )
    orphan = kube.wait_status("KeyResult", ns, "orphan", has_health, what="a health")
    ready = condition(orphan, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ReferenceNotFound")
    assert ready["message"] == f"Objective {ns}/later (spec.objectiveRef) not found"

    kube.create(objective(ns, "later"))
    recovered = kube.wait_status(
        "KeyResult", ns, "orphan", lambda s: s.get("health") == "OnTrack", what="recovery"
    )
    assert condition(recovered, "Ready")["status"] == "True"
    sourceless = kube.wait_status(
        "KeyResult",
        ns,
        "sourceless",
        lambda s: condition(s, "Ready").get("message", "").startswith("PrometheusSource"),
        what="the missing source",
    )
    assert (
        condition(sourceless, "Ready")["message"]
        == f"PrometheusSource {ns}/absent (spec.sourceRef) not found"
    )

    kube.create(objective(ns, "child", parentRef={"name": "nobody"}))
    child = kube.wait_status(
        "Objective",
        ns,
        "child",
        lambda s: condition(s, "Ready").get("reason") == "ReferenceNotFound",
        what="a missing parent",
    )
    assert (
        condition(child, "Ready")["message"]
        == f"parent Objective {ns}/nobody (spec.parentRef) not found"
    )
    assert condition(child, "Stalled") == {}  # transient: the parent may yet be created

    kube.create(objective(ns, "a", parentRef={"name": "b"}))
    kube.create(objective(ns, "b", parentRef={"name": "a"}))
    a = kube.wait_status(
        "Objective",
        ns,
        "a",
        lambda s: condition(s, "Ready").get("reason") == "CycleDetected",
        what="the cycle",
    )
    assert (
        condition(a, "Ready")["message"]
        == f"spec.parentRef forms a cycle: {ns}/a → {ns}/b → {ns}/a"
    )
    assert condition(a, "Stalled")["reason"] == "CycleDetected"


@pytest.mark.usefixtures("up")
def test_the_last_good_value_stays_with_its_time(kube: Kube, ns: str) -> None:
    kube.create(objective(ns))
    kube.create(key_result(ns, "kr", series("ontrack"), 200, baseline=100))
    kube.wait_status("KeyResult", ns, "kr", evaluated, what="a health")
    broken_at = datetime.now(UTC)
    kube.patch_spec("KeyResult", ns, "kr", {"query": series("missing")})
    bad = kube.wait_status(
        "KeyResult", ns, "kr", lambda s: s.get("observedGeneration") == 2, what="generation 2"
    )
    assert (bad["value"], bad["health"], bad["progress"]) == (160.0, "Unknown", 0.6)
    assert _ts(bad["valueTime"]) <= broken_at
    assert condition(bad, "DataAvailable")["reason"] == "NoData"
    # Later failing evaluations keep it too.
    later = kube.wait_status(
        "KeyResult", ns, "kr",
        lambda s: _ts(s["lastEvaluationTime"]) > _ts(bad["lastEvaluationTime"]),
        what="another evaluation",
    )  # fmt: skip
    assert (later["value"], later["valueTime"]) == (160.0, bad["valueTime"])


@pytest.mark.usefixtures("up")
def test_a_spec_change_is_picked_up_with_an_event(kube: Kube, ns: str) -> None:
    kube.create(objective(ns))
    kube.create(key_result(ns, "kr", series("ontrack"), 200, baseline=100))
    kube.wait_status("KeyResult", ns, "kr", lambda s: s.get("health") == "OnTrack", what="OnTrack")
    kube.patch_spec("KeyResult", ns, "kr", {"target": 1100})
    status = kube.wait_status(
        "KeyResult", ns, "kr", lambda s: s.get("observedGeneration") == 2, what="generation 2"
    )
    assert (status["progress"], status["health"]) == (0.06, "OffTrack")
    assert condition(status, "Ready")["observedGeneration"] == 2

    def changed() -> list[str]:
        return [e.message for e in kube.events(ns, "kr") if e.reason == "HealthChanged"]

    messages = kube.wait(
        "both HealthChanged Events", lambda: (m := changed()) and len(m) >= 2 and m
    )
    assert "Unknown → OnTrack (progress 0.60, expected 0.50)" in messages
    assert "OnTrack → OffTrack (progress 0.06, expected 0.50)" in messages
    event = next(e for e in kube.events(ns, "kr") if e.message.startswith("OnTrack → OffTrack"))
    assert (event.type, event.reporting_component, event.involved_object.kind) == (
        "Warning",
        "okr-operator",
        "KeyResult",
    )


@pytest.mark.usefixtures("up")
def test_three_level_rollup(kube: Kube, ns: str) -> None:
    kube.create(objective(ns, "company"))
    kube.create(objective(ns, "team", parentRef={"name": "company"}))
    kube.create(objective(ns, "squad", parentRef={"name": "team"}, weight=1))
    kube.create(objective(ns, "weakest", parentRef={"name": "company"}, rollup="Weakest", weight=0))
    kube.create(
        key_result(
            ns, "squad-on", series("ontrack"), 200, baseline=100, objectiveRef={"name": "squad"}
        )
    )
    kube.create(
        key_result(
            ns, "squad-risk", series("atrisk"), 200, baseline=100, objectiveRef={"name": "squad"}
        )
    )
    kube.create(
        key_result(
            ns,
            "team-done",
            series("achieved"),
            200,
            baseline=100,
            objectiveRef={"name": "team"},
            weight=2,
        )
    )
    kube.create(
        key_result(
            ns,
            "company-off",
            series("offtrack"),
            200,
            baseline=100,
            objectiveRef={"name": "company"},
        )
    )
    kube.create(
        key_result(
            ns, "weak-on", series("ontrack"), 200, baseline=100, objectiveRef={"name": "weakest"}
        )
    )
    kube.create(
        key_result(
            ns, "weak-off", series("offtrack"), 200, baseline=100, objectiveRef={"name": "weakest"}
        )
    )
    squad_progress = (0.6 + 0.3) / 2
    team_progress = (2 * 1.0 + squad_progress) / 3
    company_progress = (team_progress + 0.1) / 2  # "weakest" has weight 0

    def at(progress: float) -> Any:
        return lambda s: s.get("progress") == round(progress, 4)

    squad = kube.wait_status("Objective", ns, "squad", at(squad_progress), what="squad progress")
    team = kube.wait_status("Objective", ns, "team", at(team_progress), what="team progress")
    company = kube.wait_status(
        "Objective", ns, "company", at(company_progress), what="company progress"
    )
    weakest = kube.wait_status(
        "Objective", ns, "weakest", lambda s: s.get("health") == "OffTrack", what="weakest"
    )
    assert (squad["health"], team["health"], company["health"]) == ("OnTrack", "OnTrack", "OnTrack")
    # Every health is written, zeros included: a merge patch keeps keys it omits.
    zero = dict.fromkeys(
        ("Pending", "OnTrack", "AtRisk", "OffTrack", "Achieved", "Missed", "Unknown"), 0
    )
    assert squad["keyResults"] == {**zero, "total": 2, "OnTrack": 1, "AtRisk": 1}
    assert [(c["name"], c["health"]) for c in company["children"]] == [
        ("team", "OnTrack"),
        ("weakest", "OffTrack"),
    ]
    assert weakest["progress"] == round((0.6 + 0.1) / 2, 4)


@pytest.mark.usefixtures("up")
def test_the_operator_writes_status_only(kube: Kube, ns: str) -> None:
    body = key_result(ns, "kr", series("ontrack"), 200, baseline=100)
    body["metadata"]["labels"] = {"okr.dev/team": "payments"}
    body["metadata"]["annotations"] = {
        "argocd.argoproj.io/tracking-id": "okrs:okr.dev/KeyResult:x/kr"
    }
    kube.create(objective(ns))
    created = kube.create(body)
    kube.wait_status("KeyResult", ns, "kr", evaluated, what="a health")
    after = kube.get("KeyResult", ns, "kr")
    assert after["spec"] == created["spec"]
    assert after["metadata"]["labels"] == {"okr.dev/team": "payments"}
    assert after["metadata"]["annotations"] == body["metadata"]["annotations"]
    assert after["metadata"].get("finalizers") is None
    assert after["metadata"]["generation"] == 1
    writers = {(m["manager"], m.get("subresource")) for m in after["metadata"]["managedFields"]}
    assert {w for w in writers if w[1] != "status"} == {
        (created["metadata"]["managedFields"][0]["manager"], None)
    }


@pytest.mark.usefixtures("up")
def test_what_the_schema_cannot_check_is_reported_as_invalid_spec(kube: Kube, ns: str) -> None:
    mars = {"quarter": "2026-Q4", "timeZone": "Mars/Olympus_Mons"}
    kube.create(objective(ns, "elsewhere", period=mars))
    kube.create(objective(ns))
    kube.create(key_result(ns, "typo", "sum(rate(x[5m])", 1, direction="StayAbove"))

    def invalid(s: dict[str, Any]) -> bool:
        return condition(s, "Ready").get("reason") == "InvalidSpec"

    typo = kube.wait_status("KeyResult", ns, "typo", invalid, what="InvalidSpec")
    message = condition(typo, "Ready")["message"]
    assert message.startswith(f"KeyResult {ns}/typo: spec.query: "), message
    assert typo["health"] == "Unknown"
    elsewhere = kube.wait_status("Objective", ns, "elsewhere", invalid, what="InvalidSpec")
    ready = condition(elsewhere, "Ready")
    assert "spec.period.timeZone" in ready["message"]
    # Terminal: Stalled mirrors Ready, so kstatus (Flux, kpt) reports Failed.
    stalled = condition(elsewhere, "Stalled")
    assert (stalled["status"], stalled["reason"], stalled["message"]) == (
        "True",
        "InvalidSpec",
        ready["message"],
    )

    kube.patch_spec("KeyResult", ns, "typo", {"query": series("failures")})
    fixed = kube.wait_status(
        "KeyResult", ns, "typo", lambda s: s.get("observedGeneration") == 2, what="the fix"
    )
    assert (
        fixed["value"],
        fixed["health"],
        condition(fixed, "Ready")["reason"],
        condition(fixed, "Stalled"),
    ) == (3.0, "OnTrack", "Evaluated", {})


@pytest.mark.usefixtures("up")
def test_a_forecast_from_the_backfilled_history(kube: Kube, ns: str) -> None:
    kube.create(objective(ns))
    # "failures" is 3 at every sample: the least-squares line is flat at 3, so the
    # forecast value at the period end is 3 whatever the points' times.
    kube.create(key_result(ns, "below", series("failures"), 5, direction="StayBelow"))
    kube.create(key_result(ns, "above", series("failures"), 5, direction="StayAbove"))
    below = kube.wait_status("KeyResult", ns, "below", evaluated, what="a health")
    above = kube.wait_status("KeyResult", ns, "above", evaluated, what="a health")
    points = len(below["history"])
    assert points >= 50  # the backfill: one a day since the period start
    first, last = _ts(below["history"][0]["time"]), _ts(below["history"][-1]["time"])
    days = round((last - first).total_seconds() / 86400, 4)
    assert below["forecast"] == {
        "value": 3.0,
        "progress": 1.0,
        "achieves": True,
        "basis": {"points": points, "days": days},
    }
    assert (above["forecast"]["value"], above["forecast"]["progress"]) == (3.0, 0.0)
    assert above["forecast"]["achieves"] is False
    goal = kube.wait_status(
        "Objective", ns, "goal", lambda s: bool(s.get("forecast")), what="a forecast"
    )
    # The weighted mean of the members' forecast progress: (1 + 0) / 2.
    assert goal["forecast"]["progress"] == 0.5


@pytest.mark.usefixtures("up")
def test_aspirational_health_and_grading_and_a_committed_miss(kube: Kube, ns: str) -> None:
    kube.create(objective(ns))
    kube.create(objective(ns, "stretch", commitment="Aspirational"))
    # "atrisk" is 130 now: progress 0.3 where 0.5 is expected. Committed: AtRisk
    # (0.2 behind); aspirational: against 0.7 x 0.5 = 0.35, only 0.05 behind: OnTrack.
    kube.create(key_result(ns, "committed", series("atrisk"), 200, baseline=100))
    stretch = key_result(ns, "aspirational", series("atrisk"), 200, baseline=100)
    stretch["spec"]["objectiveRef"] = {"name": "stretch"}
    kube.create(stretch)
    committed = kube.wait_status("KeyResult", ns, "committed", evaluated, what="a health")
    aspirational = kube.wait_status("KeyResult", ns, "aspirational", evaluated, what="a health")
    assert (committed["health"], committed["commitment"]) == ("AtRisk", "Committed")
    assert (aspirational["health"], aspirational["commitment"]) == ("OnTrack", "Aspirational")

    # An ended period: "captured" is 40 at its end; target 50 from 0 grades 0.8.
    end = history.ANCHOR - timedelta(days=2)
    ended = {"start": (end - timedelta(days=30)).isoformat(), "end": end.isoformat()}
    kube.create(objective(ns, "last-quarter", period=ended))
    kube.create(objective(ns, "last-stretch", period=ended, commitment="Aspirational"))
    missed = key_result(ns, "missed", series("captured"), 50, baseline=0)
    missed["spec"]["objectiveRef"] = {"name": "last-quarter"}
    achieved = key_result(ns, "achieved", series("captured"), 50, baseline=0)
    achieved["spec"]["objectiveRef"] = {"name": "last-stretch"}
    kube.create(missed)
    kube.create(achieved)
    missed_status = kube.wait_status("KeyResult", ns, "missed", evaluated, what="a grade")
    achieved_status = kube.wait_status("KeyResult", ns, "achieved", evaluated, what="a grade")
    assert (missed_status["grade"], missed_status["health"]) == (0.8, "Missed")
    assert (achieved_status["grade"], achieved_status["health"]) == (0.8, "Achieved")

    def reasons(name: str) -> list[str]:
        return [e.reason for e in kube.events(ns, name)]

    kube.wait("the CommittedMissed Event", lambda: "CommittedMissed" in reasons("missed"))
    event = next(e for e in kube.events(ns, "missed") if e.reason == "CommittedMissed")
    assert event.type == "Warning"
    assert event.message == "committed key result missed (graded 0.80 of 1.00): a postmortem is due"
    assert "CommittedMissed" not in reasons("achieved")


@pytest.mark.usefixtures("up")
def test_carried_from_shows_last_periods_grade(kube: Kube, ns: str) -> None:
    end = history.ANCHOR - timedelta(days=2)
    ended = {"start": (end - timedelta(days=30)).isoformat(), "end": end.isoformat()}
    kube.create(objective(ns, "last-quarter", period=ended))
    earlier = key_result(ns, "deploys-q3", series("captured"), 80, baseline=0)
    earlier["spec"]["objectiveRef"] = {"name": "last-quarter"}
    kube.create(earlier)
    kube.wait_status(
        "KeyResult", ns, "deploys-q3", lambda s: s.get("grade") is not None, what="a grade"
    )
    kube.create(objective(ns, carriedFrom={"name": "last-quarter"}))
    kube.create(
        key_result(
            ns, "deploys", series("ontrack"), 200, baseline=100, carriedFrom={"name": "deploys-q3"}
        )
    )
    status = kube.wait_status(
        "KeyResult",
        ns,
        "deploys",
        lambda s: (s.get("carriedFrom") or {}).get("grade") is not None,
        what="the carried-over grade",
    )
    assert status["carriedFrom"] == {"namespace": ns, "name": "deploys-q3", "grade": 0.5}
    goal = kube.wait_status(
        "Objective",
        ns,
        "goal",
        lambda s: (s.get("carriedFrom") or {}).get("grade") is not None,
        what="the carried-over grade",
    )
    assert goal["carriedFrom"] == {"namespace": ns, "name": "last-quarter", "grade": 0.5}
