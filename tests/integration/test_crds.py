"""The CRDs in crds/ on the real kube-apiserver.

Every validation rule refuses its bad object with its message, valid objects
are stored with their defaults, ``kubectl get okr`` lists both kinds with the
printer columns, status is a separate subresource, and whatever
``okr_operator.api.status`` writes is accepted by the status schema.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from okr_operator.api.spec import parse_key_result, parse_objective, validate_document
from okr_operator.api.status import (
    key_result_status_from_dict,
    key_result_status_to_dict,
    objective_status_from_dict,
    objective_status_to_dict,
)
from okr_operator.domain.model import (
    CheckIn,
    ChildRef,
    Condition,
    ConditionStatus,
    ConditionType,
    Display,
    Health,
    KeyResultStatus,
    LatestCheckIn,
    ObjectiveStatus,
)
from tests.conftest import Kubectl

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crds")]

CRDS = Path(__file__).resolve().parents[2] / "crds"
API_VERSION = "okr.dev/v1alpha1"
KEY_RESULT_SPEC: dict[str, Any] = {
    "objectiveRef": {"name": "fast-checkout"},
    "query": "sum(increase(incidents_total[$__elapsed]))",
    "baseline": 12,
    "target": 3,
}
OBJECTIVE_SPEC: dict[str, Any] = {"title": "Checkout is fast", "period": {"quarter": "2026-Q4"}}
SOURCE_SPEC: dict[str, Any] = {"url": "http://prometheus.monitoring:9090"}
KOPF_STATE = {"progress": {"evaluate": {"started": "2026-11-02T09:30:00Z", "retries": 1}}}


def manifest(kind: str, name: str, spec: Any, **extra: Any) -> str:
    return json.dumps(
        {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec, **extra}
    )


def with_changes(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    result = json.loads(json.dumps(base))
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def refusal(kind: str, name: str, causes: list[str]) -> str:
    """kubectl's complete message for an object the API server refused."""
    if len(causes) == 1:
        return f'The {kind} "{name}" is invalid: {causes[0]}'
    return f'The {kind} "{name}" is invalid: \n' + "\n".join(f"* {cause}" for cause in causes)


# Appended by the API server when schema errors stop the CEL rules from running.
NOT_CHECKED = (
    "<nil>: Invalid value: null: some validation rules were not checked because the object "
    "was invalid; correct the existing errors to complete validation"
)
DURATION = "'^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$'"


@pytest.mark.parametrize(
    ("kind", "spec", "causes"),
    [
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, target=12.0),
            ["spec.target: Invalid value: spec.target must differ from spec.baseline"],
            id="KeyResult: target equal to baseline",
        ),
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, direction="Increase"),
            [
                "spec.direction: Invalid value: direction Increase needs spec.target above "
                "spec.baseline"
            ],
            id="KeyResult: Increase with target below baseline",
        ),
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, direction="Decrease", target=20),
            [
                "spec.direction: Invalid value: direction Decrease needs spec.target below "
                "spec.baseline"
            ],
            id="KeyResult: Decrease with target above baseline",
        ),
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, interval="9s999ms"),
            [
                'spec.interval: Invalid value: "9s999ms": '
                "spec.interval must be at least 10s, got 9s999ms"
            ],
            id="KeyResult: interval below 10s",
        ),
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, interval="5 minutes"),
            [
                'spec.interval: Invalid value: "5 minutes": '
                f"spec.interval in body should match {DURATION}"
            ],
            id="KeyResult: interval that is no Prometheus duration",
        ),
        pytest.param(
            "KeyResult",
            with_changes(
                KEY_RESULT_SPEC,
                period={
                    "quarter": "2026-Q4",
                    "start": "2026-10-01T00:00:00Z",
                    "end": "2027-01-01T00:00:00Z",
                },
            ),
            ["spec.period: Invalid value: period takes either quarter or start and end, not both"],
            id="KeyResult: period with quarter and start/end",
        ),
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, period={"end": "2027-01-01T00:00:00Z"}),
            ["spec.period: Invalid value: period needs either quarter or both start and end"],
            id="KeyResult: period with an end only",
        ),
        pytest.param(
            "KeyResult",
            with_changes(
                KEY_RESULT_SPEC,
                period={"start": "2026-10-01T00:00:00Z", "end": "2026-10-01T01:00:00+01:00"},
            ),
            ["spec.period: Invalid value: period end must be after its start"],
            id="KeyResult: period ending at its start",
        ),
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, period={"quarter": "2026-Q5"}),
            [
                'spec.period.quarter: Invalid value: "2026-Q5": spec.period.quarter in body '
                "should match '^[0-9]{4}-Q[1-4]$'"
            ],
            id="KeyResult: quarter outside Q1 to Q4",
        ),
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, weight=-1),
            [
                "spec.weight: Invalid value: -1: "
                "spec.weight in body should be greater than or equal to 0"
            ],
            id="KeyResult: negative weight",
        ),
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, health={"atRiskLag": 0.3}),
            [
                "spec.health: Invalid value: "
                "spec.health.atRiskLag must not exceed spec.health.offTrackLag"
            ],
            id="KeyResult: atRiskLag above the defaulted offTrackLag",
        ),
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, health={"offTrackLag": 1.5}),
            [
                "spec.health.offTrackLag: Invalid value: 1.5: spec.health.offTrackLag in body "
                "should be less than or equal to 1"
            ],
            id="KeyResult: lag above 1",
        ),
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, sourceRef={"kind": "Thanos", "name": "x"}),
            [
                'spec.sourceRef.kind: Unsupported value: "Thanos": supported values: '
                '"PrometheusSource", "ClusterPrometheusSource"',
                NOT_CHECKED,
            ],
            id="KeyResult: unknown sourceRef kind",
        ),
        pytest.param(
            "Objective",
            with_changes(OBJECTIVE_SPEC, parentRef={"name": "bad"}),
            [
                "spec.parentRef.name: Invalid value: "
                "spec.parentRef must not name the Objective itself"
            ],
            id="Objective: its own parent",
        ),
        pytest.param(
            "Objective",
            with_changes(
                OBJECTIVE_SPEC,
                period={"start": "2026-12-01T00:00:00Z", "end": "2026-10-01T00:00:00Z"},
            ),
            ["spec.period: Invalid value: period end must be after its start"],
            id="Objective: period ending before its start",
        ),
        pytest.param(
            "PrometheusSource",
            with_changes(
                SOURCE_SPEC,
                bearerTokenSecretRef={"name": "t", "key": "token"},
                basicAuthSecretRef={"name": "b"},
            ),
            [
                "spec: Invalid value: spec.bearerTokenSecretRef and spec.basicAuthSecretRef are "
                "mutually exclusive"
            ],
            id="PrometheusSource: bearer token and basic auth",
        ),
        pytest.param(
            "PrometheusSource",
            with_changes(
                SOURCE_SPEC,
                tls={
                    "caSecretRef": {"name": "a", "key": "ca.crt"},
                    "caConfigMapRef": {"name": "b", "key": "ca.crt"},
                },
            ),
            [
                "spec.tls: Invalid value: spec.tls.caSecretRef and spec.tls.caConfigMapRef are "
                "mutually exclusive"
            ],
            id="PrometheusSource: CA from a Secret and a ConfigMap",
        ),
        pytest.param(
            "PrometheusSource",
            with_changes(SOURCE_SPEC, url="ftp://mirror:21"),
            [
                "spec.url: Invalid value: \"ftp://mirror:21\": spec.url in body should match '^https?://'"
            ],
            id="PrometheusSource: URL that is not http(s)",
        ),
        pytest.param(
            "PrometheusSource",
            with_changes(SOURCE_SPEC, timeout="30"),
            [f'spec.timeout: Invalid value: "30": spec.timeout in body should match {DURATION}'],
            id="PrometheusSource: timeout without unit",
        ),
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, manual=True),
            ["spec: Invalid value: exactly one of spec.query or spec.manual (true) must be set"],
            id="KeyResult: query and manual",
        ),
        pytest.param(
            "KeyResult",
            with_changes(KEY_RESULT_SPEC, query=None),
            ["spec: Invalid value: exactly one of spec.query or spec.manual (true) must be set"],
            id="KeyResult: neither query nor manual",
        ),
        pytest.param(
            "CheckIn",
            {"keyResultRef": {"name": "kr"}, "confidence": 1.5},
            ["spec.confidence: Invalid value: 1.5: spec.confidence must be between 0 and 1"],
            id="CheckIn: confidence above 1",
        ),
        pytest.param(
            "CheckIn",
            {"keyResultRef": {"name": "kr"}, "confidence": -0.1},
            ["spec.confidence: Invalid value: -0.1: spec.confidence must be between 0 and 1"],
            id="CheckIn: confidence below 0",
        ),
    ],
)
def test_the_api_server_refuses_invalid_specs(
    kubectl: Kubectl, kube_namespace: str, kind: str, spec: Any, causes: list[str]
) -> None:
    created = kubectl(
        "create", "-n", kube_namespace, "-f", "-", input=manifest(kind, "bad", spec), check=False
    )
    assert (created.returncode, created.stderr.strip()) == (1, refusal(kind, "bad", causes))


def test_a_cluster_source_is_validated_like_a_namespaced_one(
    kubectl: Kubectl, kube_namespace: str
) -> None:
    # Cluster-scoped names are global: borrow the unique namespace name.
    spec = with_changes(
        SOURCE_SPEC,
        basicAuthSecretRef={"name": "b"},
        bearerTokenSecretRef={"name": "t", "key": "k"},
    )
    created = kubectl(
        "create",
        "-f",
        "-",
        input=manifest("ClusterPrometheusSource", kube_namespace, spec),
        check=False,
    )
    assert (created.returncode, created.stderr.strip()) == (
        1,
        refusal(
            "ClusterPrometheusSource",
            kube_namespace,
            [
                "spec: Invalid value: "
                "spec.bearerTokenSecretRef and spec.basicAuthSecretRef are mutually exclusive"
            ],
        ),
    )


def get_json(kubectl: Kubectl, *args: str) -> Any:
    return json.loads(kubectl("get", *args, "-o", "json").stdout)


def test_valid_objects_are_stored_with_their_defaults(
    kubectl: Kubectl, kube_namespace: str
) -> None:
    ns = kube_namespace
    documents = "\n".join(
        [
            manifest("Objective", "fast-checkout", OBJECTIVE_SPEC),
            manifest("KeyResult", "incidents", KEY_RESULT_SPEC),
            manifest("PrometheusSource", "mimir", SOURCE_SPEC),
            manifest("CheckIn", "week-1", {"keyResultRef": {"name": "incidents"}, "confidence": 1}),
        ]
    )
    kubectl("create", "-n", ns, "-f", "-", input=documents)
    kubectl("create", "-f", "-", input=manifest("ClusterPrometheusSource", ns, SOURCE_SPEC))
    try:
        cluster = get_json(kubectl, "clusterprometheussource", ns)
    finally:
        kubectl("delete", "clusterprometheussource", ns, "--wait=false", check=False)

    objective = get_json(kubectl, "obj", "fast-checkout", "-n", ns)
    key_result = get_json(kubectl, "kr", "incidents", "-n", ns)
    source = get_json(kubectl, "prometheussource", "mimir", "-n", ns)
    assert objective["spec"] == {
        "title": "Checkout is fast",
        "period": {"quarter": "2026-Q4", "timeZone": "UTC"},
        "weight": 1,
        "rollup": "WeightedAverage",
        "commitment": "Committed",
    }
    assert key_result["spec"] == {
        **KEY_RESULT_SPEC,
        "weight": 1,
        "interval": "1m",
        "onEmpty": "NoData",
    }
    source_defaults = {"url": SOURCE_SPEC["url"], "timeout": "30s", "queryLanguage": "PromQL"}
    assert (source["spec"], cluster["spec"]) == (source_defaults, source_defaults)
    # What the server stored is what the operator parses.
    assert parse_objective(objective).title == "Checkout is fast"
    assert parse_key_result(key_result).objective == "fast-checkout"


def test_nested_defaults_apply_once_their_object_is_given(
    kubectl: Kubectl, kube_namespace: str
) -> None:
    spec = with_changes(KEY_RESULT_SPEC, health={}, period={"quarter": "2026-Q4"})
    kubectl("create", "-n", kube_namespace, "-f", "-", input=manifest("KeyResult", "k", spec))
    stored = get_json(kubectl, "kr", "k", "-n", kube_namespace)["spec"]
    assert (stored["health"], stored["period"]) == (
        {"atRiskLag": 0.1, "offTrackLag": 0.25},
        {"quarter": "2026-Q4", "timeZone": "UTC"},
    )


def test_kubectl_get_okr_lists_every_kind_and_short_names_work(
    kubectl: Kubectl, kube_namespace: str
) -> None:
    documents = "\n".join(
        [
            manifest("Objective", "fast-checkout", OBJECTIVE_SPEC),
            manifest("KeyResult", "incidents", KEY_RESULT_SPEC),
            manifest("PrometheusSource", "mimir", SOURCE_SPEC),
            manifest("CheckIn", "week-1", {"keyResultRef": {"name": "incidents"}, "confidence": 1}),
        ]
    )
    kubectl("create", "-n", kube_namespace, "-f", "-", input=documents)
    # Cluster-scoped: other tests on the shared bench may hold ClusterPrometheusSources
    # of their own, so this one has a name of its own and the list is read for it.
    shared = f"shared-{kube_namespace}"
    kubectl("create", "-f", "-", input=manifest("ClusterPrometheusSource", shared, SOURCE_SPEC))
    try:
        listed = kubectl("get", "okr", "-n", kube_namespace, "-o", "name").stdout.split()
        namespaced = sorted(n for n in listed if not n.startswith("clusterprometheussource."))
        assert namespaced == [
            "checkin.okr.dev/week-1",
            "keyresult.okr.dev/incidents",
            "objective.okr.dev/fast-checkout",
            "prometheussource.okr.dev/mimir",
        ]
        assert f"clusterprometheussource.okr.dev/{shared}" in listed
        by_short_name = [
            kubectl("get", short, *where, "-o", "name").stdout.split()
            for short, *where in (
                ("obj", "-n", kube_namespace),
                ("kr", "-n", kube_namespace),
                ("promsource", "-n", kube_namespace),
                ("cpromsource", shared),
                ("checkin", "-n", kube_namespace),
            )
        ]
        assert by_short_name == [
            ["objective.okr.dev/fast-checkout"],
            ["keyresult.okr.dev/incidents"],
            ["prometheussource.okr.dev/mimir"],
            [f"clusterprometheussource.okr.dev/{shared}"],
            ["checkin.okr.dev/week-1"],
        ]
    finally:
        kubectl("delete", "clusterprometheussource", shared, "--wait=false")


def columns(output: str) -> list[list[str]]:
    """The table kubectl printed, as rows of cells cut where the header's columns start
    (cells may hold blanks: "41.85 hours"); AGE (last) dropped, it moves."""
    lines = output.rstrip("\n").splitlines()
    starts = [match.start() for match in re.finditer(r"\S+", lines[0])]
    ends = [*starts[1:], None]
    return [[line[s:e].strip() for s, e in zip(starts, ends, strict=True)][:-1] for line in lines]


def test_printer_columns_show_status_and_spec(kubectl: Kubectl, kube_namespace: str) -> None:
    ns = kube_namespace
    parent = with_changes(OBJECTIVE_SPEC, title="Reliable")
    child = with_changes(OBJECTIVE_SPEC, title="Fast", parentRef={"name": "company"})
    kubectl(
        "create", "-n", ns, "-f", "-",
        input="\n".join([
            manifest("Objective", "company", parent),
            manifest("Objective", "fast-checkout", child),
            manifest("KeyResult", "incidents", KEY_RESULT_SPEC),
            manifest("PrometheusSource", "mimir", SOURCE_SPEC),
        ]),
    )  # fmt: skip
    ready = {
        "type": "Ready", "status": "False", "reason": "QueryFailed", "message": "timeout",
        "lastTransitionTime": "2026-11-23T10:00:00Z",
    }  # fmt: skip
    status = {
        "value": 7.123456,
        "display": {"value": "7.123 incidents", "target": "3 incidents"},
        "progress": 0.5556,
        "expectedProgress": 0.6,
        "health": "AtRisk",
        "conditions": [ready],
        "forecast": {"value": 5.0, "progress": 0.8, "achieves": False},
        "commitment": "Aspirational",
    }
    rolled = {
        "progress": 0.5556,
        "expectedProgress": 0.6,
        "health": "AtRisk",
        "conditions": [{**ready, "status": "True", "reason": "Evaluated", "message": "ok"}],
    }
    for resource, body in (("kr/incidents", status), ("obj/fast-checkout", rolled)):
        kubectl(
            "patch", resource, "-n", ns, "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": body}),
        )  # fmt: skip

    kr_columns = ["VALUE", "TARGET", "PROGRESS", "EXPECTED", "FORECAST", "HEALTH", "READY"]
    kr_columns.append("REASON")
    kr_cells = ["7.123 incidents", "3 incidents", "0.5556", "0.6", "0.8", "AtRisk", "False"]
    kr_cells.append("QueryFailed")
    assert columns(kubectl("get", "kr", "-n", ns, "-o", "wide").stdout) == [
        ["NAME", "OBJECTIVE", "COMMITMENT", *kr_columns],
        ["incidents", "fast-checkout", "Aspirational", *kr_cells],
    ]
    assert columns(kubectl("get", "kr", "-n", ns).stdout) == [
        ["NAME", *kr_columns],
        ["incidents", *kr_cells],
    ]
    objectives = kubectl("get", "obj", "-n", ns, "--sort-by=.metadata.name").stdout
    assert columns(objectives) == [
        [
            "NAME",
            "TITLE",
            "PROGRESS",
            "EXPECTED",
            "FORECAST",
            "HEALTH",
            "READY",
            "REASON",
            "PARENT",
        ],
        ["company", "Reliable", "", "", "", "", "", "", ""],
        ["fast-checkout", "Fast", "0.5556", "0.6", "", "AtRisk", "True", "Evaluated", "company"],
    ]
    assert columns(kubectl("get", "promsource", "-n", ns).stdout) == [
        ["NAME", "URL"],
        ["mimir", SOURCE_SPEC["url"]],
    ]


def test_status_is_a_separate_subresource(kubectl: Kubectl, kube_namespace: str) -> None:
    ns = kube_namespace
    # A status in the created object is dropped: only /status writes it.
    # KOPF_STATE stands for kopf's own bookkeeping, which status.kopf must keep.
    kubectl(
        "create", "-n", ns, "-f", "-",
        input=manifest("KeyResult", "k", KEY_RESULT_SPEC, status={"health": "Achieved"}),
    )  # fmt: skip
    assert "status" not in get_json(kubectl, "kr", "k", "-n", ns)

    kubectl(
        "patch", "kr/k", "-n", ns, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"health": "OnTrack", "kopf": KOPF_STATE}}),
    )  # fmt: skip
    after_status = get_json(kubectl, "kr", "k", "-n", ns)
    assert (after_status["metadata"]["generation"], after_status["status"]) == (
        1,
        {"health": "OnTrack", "kopf": KOPF_STATE},
    )

    # A write to the main resource changes spec and generation, never status.
    kubectl(
        "patch", "kr/k", "-n", ns, "--type=merge",
        "-p", json.dumps({"spec": {"target": 2}, "status": {"health": "Missed"}}),
    )  # fmt: skip
    after_spec = get_json(kubectl, "kr", "k", "-n", ns)
    assert (after_spec["metadata"]["generation"], after_spec["spec"]["target"]) == (2, 2)
    assert after_spec["status"] == after_status["status"]


def test_the_status_schema_refuses_unknown_health(kubectl: Kubectl, kube_namespace: str) -> None:
    kubectl(
        "create", "-n", kube_namespace, "-f", "-", input=manifest("KeyResult", "k", KEY_RESULT_SPEC)
    )
    patched = kubectl(
        "patch", "kr/k", "-n", kube_namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"health": "Great"}}), check=False,
    )  # fmt: skip
    unsupported = (
        'status.health: Unsupported value: "Great": supported values: '
        '"Pending", "OnTrack", "AtRisk", "OffTrack", "Achieved", "Missed", "Unknown"'
    )
    assert (patched.returncode, patched.stderr.strip()) == (
        1,
        refusal("KeyResult", "k", [unsupported, NOT_CHECKED]),
    )


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


CONDITIONS = (
    Condition(
        type=ConditionType.READY,
        status=ConditionStatus.FALSE,
        reason="QueryFailed",
        message='bad_data: 1:5: parse error: unexpected "}"',
        last_transition_time=at(2, 9),
        observed_generation=1,
    ),
    Condition(
        type=ConditionType.DATA_AVAILABLE,
        status=ConditionStatus.UNKNOWN,
        reason="QueryFailed",
        message="",
        last_transition_time=at(2, 9),
        observed_generation=1,
    ),
)
HISTORY = (
    CheckIn(time=at(1), progress=0.25, health=Health.ON_TRACK, value=9.75),
    CheckIn(time=at(2), progress=None, health=Health.UNKNOWN),
)


def test_a_complete_key_result_status_is_accepted_and_reads_back(
    kubectl: Kubectl, kube_namespace: str
) -> None:
    ns = kube_namespace
    kubectl("create", "-n", ns, "-f", "-", input=manifest("KeyResult", "k", KEY_RESULT_SPEC))
    first = KeyResultStatus(
        observed_generation=1,
        value=9.75,
        value_time=at(1),
        baseline=12.0,
        progress=0.25,
        expected_progress=0.3456,
        health=Health.ON_TRACK,
        last_evaluation_time=at(2, 9),
        grade=0.25,
        history=HISTORY,
        conditions=CONDITIONS,
        display=Display(value="9.75 incidents", target="3 incidents"),
        check_in=LatestCheckIn(
            name="week-1", time=at(2), confidence=0.7, note="ok", author="ana", value=9.5
        ),
        check_in_due=False,
    )
    patch = {"status": key_result_status_to_dict(first)}
    kubectl(
        "patch", "kr/k", "-n", ns, "--subresource=status", "--type=merge", "-p", json.dumps(patch)
    )
    stored = get_json(kubectl, "kr", "k", "-n", ns)["status"]
    assert key_result_status_from_dict(stored) == first

    # None in the merge patch deletes what an earlier evaluation wrote.
    second = KeyResultStatus(observed_generation=1, health=Health.UNKNOWN, conditions=CONDITIONS)
    patch = {"status": key_result_status_to_dict(second)}
    kubectl(
        "patch", "kr/k", "-n", ns, "--subresource=status", "--type=merge", "-p", json.dumps(patch)
    )
    stored = get_json(kubectl, "kr", "k", "-n", ns)["status"]
    assert sorted(stored) == ["conditions", "health", "history", "observedGeneration"]
    assert key_result_status_from_dict(stored) == second


def test_a_complete_objective_status_is_accepted_and_reads_back(
    kubectl: Kubectl, kube_namespace: str
) -> None:
    ns = kube_namespace
    kubectl("create", "-n", ns, "-f", "-", input=manifest("Objective", "o", OBJECTIVE_SPEC))
    first = ObjectiveStatus(
        observed_generation=1,
        progress=0.4,
        expected_progress=0.5,
        health=Health.AT_RISK,
        last_evaluation_time=at(2, 9),
        grade=None,
        key_results=MappingProxyType({"total": 3, "OnTrack": 1, "AtRisk": 2}),
        children=(
            ChildRef(namespace=ns, name="team-a", progress=0.4, health=Health.AT_RISK),
            ChildRef(namespace="other", name="team-b", progress=None, health=Health.PENDING),
        ),
        history=tuple(CheckIn(p.time, p.progress, p.health) for p in HISTORY),
        conditions=CONDITIONS,
    )
    patch = {"status": objective_status_to_dict(first)}
    kubectl(
        "patch", "obj/o", "-n", ns, "--subresource=status", "--type=merge", "-p", json.dumps(patch)
    )
    assert objective_status_from_dict(get_json(kubectl, "obj", "o", "-n", ns)["status"]) == first

    # Counts that drop to zero must not survive the merge of keyResults.
    second = ObjectiveStatus(
        observed_generation=1,
        health=Health.ACHIEVED,
        key_results=MappingProxyType({"total": 3, "Achieved": 3}),
    )
    patch = {"status": objective_status_to_dict(second)}
    kubectl(
        "patch", "obj/o", "-n", ns, "--subresource=status", "--type=merge", "-p", json.dumps(patch)
    )
    assert objective_status_from_dict(get_json(kubectl, "obj", "o", "-n", ns)["status"]) == second


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        *[
            pytest.param(("KeyResult", "interval", "1y (365d)"), v, id=f"interval {v}")
            for v in ["99999999999y", "8000y", "1y1ms", "366d", "52w2d", "1y", "365d", "52w1d",
                      "8759h59m59s999ms", "5m500ms", "10s"]
        ],
        *[
            pytest.param(("PrometheusSource", "timeout", "1h"), v, id=f"timeout {v}")
            for v in ["99999999999y", "1h1ms", "61m", "3600001ms", "1d", "1h", "60m", "3600s",
                      "59m59s1000ms", "2m5s"]
        ],
    ],
)  # fmt: skip
def test_duration_bounds_agree_with_the_operator(
    kubectl: Kubectl, kube_namespace: str, rule: tuple[str, str, str], value: str
) -> None:
    kind, field, bound = rule
    base = KEY_RESULT_SPEC if kind == "KeyResult" else SOURCE_SPEC
    doc = json.loads(manifest(kind, "duration", with_changes(base, **{field: value})))
    doc["metadata"]["namespace"] = kube_namespace
    created = kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(doc), check=False)
    problems = validate_document(doc)
    message = f"spec.{field} must be at most {bound}, got {value}"
    if created.returncode == 0:
        assert problems == [], problems
    else:
        assert created.stderr.strip() == refusal(
            kind, "duration", [f'spec.{field}: Invalid value: "{value}": {message}']
        )
        assert problems == [
            f"{kind} {kube_namespace}/duration: spec.{field}: must be at most {bound}, got {value}"
        ]
    assert (created.returncode == 0) == (value in ACCEPTED_DURATIONS)


ACCEPTED_DURATIONS = {"1y", "365d", "52w1d", "8759h59m59s999ms", "5m500ms", "10s", "1h", "60m",
                      "3600s", "59m59s1000ms", "2m5s"}  # fmt: skip


def test_check_in_printer_columns_show_key_result_confidence_value_and_author(
    kubectl: Kubectl, kube_namespace: str
) -> None:
    ns = kube_namespace
    spec = {"keyResultRef": {"name": "nps"}, "confidence": 0.6, "value": 41, "author": "ana"}
    kubectl("create", "-n", ns, "-f", "-", input=manifest("CheckIn", "nps-week-47", spec))
    out = kubectl("get", "checkin", "-n", ns).stdout
    assert columns(out) == [
        ["NAME", "KEYRESULT", "CONFIDENCE", "VALUE", "AUTHOR"],
        ["nps-week-47", "nps", "0.6", "41", "ana"],
    ]
    wide = kubectl("get", "checkin", "-n", ns, "-o", "wide").stdout
    assert columns(wide)[0] == ["NAME", "KEYRESULT", "CONFIDENCE", "VALUE", "AUTHOR", "READY"]
