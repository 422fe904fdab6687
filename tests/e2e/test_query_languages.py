"""Issue 9.4 Query languages, on the real VictoriaMetrics 1.79 and Prometheus 2.42.

One operator run (the session's) evaluates every case at once; each test then
reads what it wrote. The VictoriaMetrics is the bench's (Debian's
``victoria-metrics``), backfilled through its import API with the e2e history
under a label of this session; the default source is the session's
Prometheus 2.42, whose language is PromQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import history
from tests.e2e.test_key_results import PERIOD, evaluated
from tests.support.bench import Bench, RunningProcess, free_port
from tests.support.prometheus import start_prometheus_with_history
from tests.support.runner import GROUP, VERSION, Kube, RunningOperator, condition
from tests.support.victoriametrics import import_history, prometheus_text

pytestmark = pytest.mark.e2e

SESSION = uuid.uuid4().hex[:8]
CLUSTER_SOURCE = f"e2e-vm-{SESSION}"


def vm_series(case: str) -> str:
    """An e2e series in VictoriaMetrics, only this session's samples."""
    return f'okr_e2e_value{{case="{case}",session="{SESSION}"}}'


FAILURES = 'okr_e2e_value{case="failures"}'
CANDLE = f"rollup_candlestick({vm_series('ontrack')}[3d])"
# name: (sourceRef or None for the default source, query, spec extras)
CASES: dict[str, tuple[dict[str, str] | None, str, dict[str, Any]]] = {
    # VictoriaMetrics, MetricsQL: the server decides.
    "vm-plain-promql": (
        {"kind": "ClusterPrometheusSource", "name": CLUSTER_SOURCE},
        vm_series("ontrack"),
        {"baseline": 100, "target": 200},
    ),
    "vm-default-zero": (
        {"kind": "PrometheusSource", "name": "vm"},
        f"sum({vm_series('absent')}) default 0",
        {"target": 5, "direction": "StayBelow"},
    ),
    "vm-with": (
        {"kind": "PrometheusSource", "name": "vm"},
        f"WITH (v = {vm_series('ontrack')}) v + v",
        {"baseline": 200, "target": 400},
    ),
    "vm-candlestick": (
        {"kind": "PrometheusSource", "name": "vm"},
        f"max({CANDLE}) - min({CANDLE})",
        {"target": 50, "direction": "StayAbove"},
    ),
    "vm-rejected": (
        {"kind": "PrometheusSource", "name": "vm"},
        f"no_such_function({vm_series('ontrack')})",
        {"target": 1, "direction": "StayAbove"},
    ),
    # Prometheus 2.42, PromQL: the local parser advises.
    "prom-holt-winters": (
        None,
        f"holt_winters({FAILURES}[6h], 0.5, 0.5)",
        {"target": 5, "direction": "StayBelow"},
    ),
    "prom-double-exponential-smoothing": (
        None,
        f"double_exponential_smoothing({FAILURES}[6h], 0.5, 0.5)",
        {"target": 5, "direction": "StayBelow"},
    ),
    "prom-metricsql": (
        None,
        f"sum({FAILURES}) default 0",
        {"target": 5, "direction": "StayBelow"},
    ),
    "prom-warned": (
        {"kind": "PrometheusSource", "name": "warned"},
        "sum(up) or vector(3)",
        {"target": 5, "direction": "StayBelow"},
    ),
}


@pytest.fixture(scope="module")
def dead_port() -> int:
    """A loopback port nothing listens on: the warned Prometheus's remote read fails there."""
    return free_port()


@pytest.fixture(scope="module")
def warned_prometheus(
    tmp_path_factory: pytest.TempPathFactory, dead_port: int
) -> Iterator[RunningProcess]:
    """A Prometheus 2.42 whose remote read fails: it answers with real API warnings.

    Prometheus turns a failing remote-read store into warnings on a successful
    answer, as Thanos does for a partial response.
    """
    remote = {"url": f"http://127.0.0.1:{dead_port}/api/v1/read", "read_recent": True}
    with start_prometheus_with_history(
        "# EOF\n", tmp_path_factory.mktemp("warned"), extra_config={"remote_read": [remote]}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def statuses(
    bench: Bench,
    kube: Kube,
    operator: RunningOperator,
    warned_prometheus: RunningProcess,
) -> Iterator[tuple[str, dict[str, dict[str, Any]]]]:
    """Create every case in one namespace and return each key result's evaluated status."""
    samples = [
        (series.labels, series.value_at(moment), moment)
        for series in history.SERIES.values()
        for moment in history.sample_times()
    ]
    text = prometheus_text("okr_e2e_value", samples, labels=f'session="{SESSION}"')
    import_history(bench.victoriametrics_url, text, probe=vm_series("ontrack"))
    ns = f"e2e-ql-{SESSION}"
    kube.core.create_namespace({"metadata": {"name": ns}})
    source = {"apiVersion": f"{GROUP}/{VERSION}"}
    kube.create(
        {
            **source,
            "kind": "ClusterPrometheusSource",
            "metadata": {"name": CLUSTER_SOURCE},
            "spec": {"url": bench.victoriametrics_url, "queryLanguage": "MetricsQL"},
        }
    )
    for name, spec in (
        ("vm", {"url": bench.victoriametrics_url, "queryLanguage": "MetricsQL"}),
        ("warned", {"url": warned_prometheus.url}),
    ):
        kube.create(
            {**source, "kind": "PrometheusSource", "metadata": {"namespace": ns, "name": name},
             "spec": spec}
        )  # fmt: skip
    kube.create(
        {**source, "kind": "Objective", "metadata": {"namespace": ns, "name": "goal"},
         "spec": {"title": "Query languages", "period": PERIOD}}
    )  # fmt: skip
    for name, (ref, query, extra) in CASES.items():
        spec = {"objectiveRef": {"name": "goal"}, "query": query, "interval": "10s", **extra}
        if ref is not None:
            spec["sourceRef"] = ref
        kube.create(
            {**source, "kind": "KeyResult", "metadata": {"namespace": ns, "name": name},
             "spec": spec}
        )  # fmt: skip
    found = {
        name: kube.wait_status(
            "KeyResult", ns, name, evaluated, what="an evaluation", log=operator.log_tail()
        )
        for name in CASES
    }
    yield ns, found
    kube.custom.delete_cluster_custom_object(
        GROUP, VERSION, "clusterprometheussources", CLUSTER_SOURCE
    )


def _ready(status: dict[str, Any]) -> tuple[str, str]:
    ready = condition(status, "Ready")
    return ready["status"], ready["reason"]


@pytest.mark.parametrize(
    ("name", "value", "health"),
    [
        pytest.param("vm-plain-promql", 160.0, "OnTrack", id="plain PromQL"),
        pytest.param("vm-default-zero", 0.0, "OnTrack", id="sum(...) default 0"),
        pytest.param("vm-with", 320.0, "OnTrack", id="WITH templates"),
        pytest.param("vm-candlestick", 60.0, "OnTrack", id="rollup_candlestick"),
    ],
)
def test_victoriametrics_evaluates_promql_and_metricsql(
    statuses: tuple[str, dict[str, dict[str, Any]]], name: str, value: float, health: str
) -> None:
    status = statuses[1][name]
    assert (status["value"], status["health"], _ready(status)) == (
        value, health, ("True", "Evaluated"),
    )  # fmt: skip
    assert condition(status, "DataAvailable")["reason"] == "DataReceived"
    # MetricsQL: the local PromQL parser's opinion is not asked.
    assert condition(status, "QueryChecked") == {}


def test_a_query_victoriametrics_rejects_fails_with_its_error_text(
    statuses: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    status = statuses[1]["vm-rejected"]
    assert (status["health"], _ready(status)) == ("Unknown", ("False", "QueryFailed"))
    message = condition(status, "Ready")["message"]
    assert message.startswith("422: error when executing query="), message
    assert message.endswith('unknown func "no_such_function"'), message
    assert condition(status, "QueryChecked") == {}


def test_a_query_only_the_local_parser_rejects_is_evaluated_with_a_warning(
    statuses: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    status = statuses[1]["prom-holt-winters"]
    assert (status["value"], status["health"], _ready(status)) == (
        3.0, "OnTrack", ("True", "Evaluated"),
    )  # fmt: skip
    checked = condition(status, "QueryChecked")
    assert (checked["status"], checked["reason"]) == ("False", "LocalParserDisagrees")
    assert checked["message"] == (
        "the local PromQL parser rejects spec.query (invalid PromQL: unknown function with name "
        "'holt_winters') but the server evaluated it; the server decides (the local parser "
        "follows Prometheus 3.x and may not know this server's functions)"
    )


def test_a_query_only_the_server_rejects_fails_with_its_error_text(
    statuses: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    status = statuses[1]["prom-double-exponential-smoothing"]
    assert (status["health"], _ready(status)) == ("Unknown", ("False", "QueryFailed"))
    assert condition(status, "Ready")["message"] == (
        'bad_data: invalid parameter "query": 1:1: parse error: unknown function with name '
        '"double_exponential_smoothing"'
    )
    assert condition(status, "QueryChecked") == {}


def test_a_query_both_reject_is_invalid_spec_with_both_messages(
    statuses: tuple[str, dict[str, dict[str, Any]]],
) -> None:
    ns, found = statuses
    status = found["prom-metricsql"]
    assert (status["health"], _ready(status)) == ("Unknown", ("False", "InvalidSpec"))
    assert condition(status, "Ready")["message"] == (
        f"KeyResult {ns}/prom-metricsql: spec.query: invalid PromQL: invalid promql query; "
        'the server rejects it too: bad_data: invalid parameter "query": 1:37: parse error: '
        'unexpected identifier "default"'
    )
    assert condition(status, "QueryChecked") == {}


def test_server_warnings_are_in_the_ready_message(
    statuses: tuple[str, dict[str, dict[str, Any]]], dead_port: int
) -> None:
    status = statuses[1]["prom-warned"]
    assert (status["value"], _ready(status)) == (3.0, ("True", "Evaluated"))
    message = condition(status, "Ready")["message"]
    read = f"http://127.0.0.1:{dead_port}/api/v1/read"
    assert message.endswith(
        f'; the server warned: remote_read: error sending request: Post "{read}": '
        f"dial tcp 127.0.0.1:{dead_port}: connect: connection refused"
    ), message
    assert message.startswith("value 3 at "), message
