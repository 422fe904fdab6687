"""The test bench is real: kube-apiserver, Prometheus with promtool, Alertmanager, tools.

Issue 2, point 6: a CRD with a status subresource and a CEL rule is enforced by
kube-apiserver, RBAC separates status from spec writes for a ServiceAccount, and
promtool-backfilled history reads back exactly at a past timestamp.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Kubectl
from tests.support.bench import Bench, start_alertmanager, start_prometheus_with_history
from tests.support.processes import REPO_ROOT, free_port
from tests.support.prometheus import Series, api_get, instant_query, openmetrics_text, post

pytestmark = pytest.mark.e2e

GROUP = "bench.okr.dev"
CRD_NAME = f"widgets.{GROUP}"
CEL_MESSAGE = "size must not exceed maxSize"
WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": CRD_NAME},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {
            "kind": "Widget",
            "plural": "widgets",
            "singular": "widget",
            "listKind": "WidgetList",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size", "maxSize"],
                                "properties": {
                                    "size": {"type": "integer"},
                                    "maxSize": {"type": "integer"},
                                },
                                "x-kubernetes-validations": [
                                    {"rule": "self.size <= self.maxSize", "message": CEL_MESSAGE}
                                ],
                            },
                            "status": {
                                "type": "object",
                                "properties": {
                                    "observedSize": {"type": "integer"},
                                    "phase": {"type": "string"},
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}


def widget(namespace: str, name: str, size: int, max_size: int) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"size": size, "maxSize": max_size},
    }


def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def widget_crd(kubectl: Kubectl) -> str:
    kubectl("apply", "-f", "-", input=json.dumps(WIDGET_CRD))
    kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
    return CRD_NAME


# --------------------------------------------------------------------------- kube-apiserver


def test_a_widget_within_the_cel_rule_is_stored(
    kubectl: Kubectl, kube_namespace: str, widget_crd: str
) -> None:
    created = kubectl("create", "-f", "-", input=json.dumps(widget(kube_namespace, "ok", 3, 5)))
    assert created.stdout == f"widget.{GROUP}/ok created\n"
    stored = json.loads(kubectl("get", "widget", "ok", "-n", kube_namespace, "-o", "json").stdout)
    assert (stored["spec"], stored.get("status")) == ({"size": 3, "maxSize": 5}, None)


def test_a_widget_breaking_the_cel_rule_is_rejected_with_its_message(
    bench: Bench, kubectl: Kubectl, kube_namespace: str, widget_crd: str
) -> None:
    rejected = kubectl(
        "create", "-f", "-", input=json.dumps(widget(kube_namespace, "too-big", 9, 5)), check=False
    )
    assert (rejected.returncode, rejected.stdout, rejected.stderr) == (
        1,
        "",
        f'The Widget "too-big" is invalid: spec: Invalid value: {CEL_MESSAGE}\n',
    )
    raw = bench.api(
        "POST",
        f"/apis/{GROUP}/v1/namespaces/{kube_namespace}/widgets",
        widget(kube_namespace, "too-big", 9, 5),
        content_type="application/json",
    )
    assert (raw.status, raw.body) == (
        422,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f'Widget.{GROUP} "too-big" is invalid: spec: Invalid value: {CEL_MESSAGE}',
            "reason": "Invalid",
            "details": {
                "name": "too-big",
                "group": GROUP,
                "kind": "Widget",
                "causes": [
                    {
                        "reason": "FieldValueInvalid",
                        "message": f"Invalid value: {CEL_MESSAGE}",
                        "field": "spec",
                    }
                ],
            },
            "code": 422,
        },
    )


def test_a_serviceaccount_allowed_to_write_only_status_patches_it_and_gets_403_on_spec(
    bench: Bench, kubectl: Kubectl, kube_namespace: str, widget_crd: str, tmp_path: Path
) -> None:
    ns = kube_namespace
    kubectl("create", "-f", "-", input=json.dumps(widget(ns, "w", 3, 5)))
    # May read widgets, may write only their status: what an operator needs.
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "widget-status-writer", "namespace": ns},
        "rules": [
            {"apiGroups": [GROUP], "resources": ["widgets", "widgets/status"], "verbs": ["get"]},
            {"apiGroups": [GROUP], "resources": ["widgets/status"], "verbs": ["patch"]},
        ],
    }
    kubectl("apply", "-f", "-", input=json.dumps(role))
    kubectl(
        "create", "rolebinding", "widget-status-writer", "-n", ns,
        "--role=widget-status-writer", f"--serviceaccount={ns}:status-writer",
    )  # fmt: skip
    sa_config = bench.serviceaccount_kubeconfig(ns, "status-writer", tmp_path / "sa.kubeconfig")
    user = f"system:serviceaccount:{ns}:status-writer"

    status_patch = kubectl(
        "patch", "widget", "w", "-n", ns, "--subresource=status", "--type=merge",
        "-p", '{"status":{"observedSize":3,"phase":"Measured"}}',
        kubeconfig=sa_config,
    )  # fmt: skip
    assert status_patch.stdout == f"widget.{GROUP}/w patched\n"

    spec_patch = kubectl(
        "patch", "widget", "w", "-n", ns, "--type=merge", "-p", '{"spec":{"size":4}}',
        kubeconfig=sa_config, check=False,
    )  # fmt: skip
    forbidden = (
        f'widgets.{GROUP} "w" is forbidden: User "{user}" cannot patch resource "widgets" '
        f'in API group "{GROUP}" in the namespace "{ns}"'
    )
    assert (spec_patch.returncode, spec_patch.stderr) == (
        1,
        f"Error from server (Forbidden): {forbidden}\n",
    )

    token = yaml.safe_load(sa_config.read_text())["users"][0]["user"]["token"]
    raw = bench.api(
        "PATCH", f"/apis/{GROUP}/v1/namespaces/{ns}/widgets/w", {"spec": {"size": 4}}, token=token
    )
    assert (raw.status, raw.body) == (
        403,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": forbidden,
            "reason": "Forbidden",
            "details": {"name": "w", "group": GROUP, "kind": "widgets"},
            "code": 403,
        },
    )

    stored = json.loads(kubectl("get", "widget", "w", "-n", ns, "-o", "json").stdout)
    assert (stored["spec"], stored["status"]) == (
        {"size": 3, "maxSize": 5},
        {"observedSize": 3, "phase": "Measured"},
    )


# --------------------------------------------------------------------------- Prometheus

STEP_S = 60
END_S = (int(time.time()) // 3600) * 3600 - 3 * 3600  # whole hour, 3 h ago: fixed for a run
START_S = END_S - 2 * 24 * 3600  # two days of one-minute samples


def request_history() -> list[Series]:
    """Counters rising 10/min (code 200) and 1/min (code 500): 1 % errors, exactly."""
    count = (END_S - START_S) // STEP_S + 1
    return [
        Series(
            "okr_bench_requests_total",
            {"service": "checkout", "code": code},
            [(START_S + i * STEP_S, i * per_minute) for i in range(count)],
        )
        for code, per_minute in (("200", 10), ("500", 1))
    ]


@pytest.fixture(scope="module")
def prometheus_with_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("prometheus-history")
    with start_prometheus_with_history(openmetrics_text(request_history()), workdir) as prom:
        yield prom.url


@pytest.mark.parametrize(
    ("sentence", "expr", "at", "expected"),
    [
        (
            "a raw sample reads back exactly at its own past timestamp",
            'okr_bench_requests_total{code="200"}',
            START_S + 1000 * STEP_S,
            [
                (
                    {"__name__": "okr_bench_requests_total", "code": "200", "service": "checkout"},
                    "10000",
                )
            ],
        ),
        (
            "between two samples the older one is returned (lookback)",
            'okr_bench_requests_total{code="500"}',
            START_S + 1000 * STEP_S + 30,
            [
                (
                    {"__name__": "okr_bench_requests_total", "code": "500", "service": "checkout"},
                    "1000",
                )
            ],
        ),
        (
            "increase over a window of whole samples needs no extrapolation",
            "sum by (code) (increase(okr_bench_requests_total[10m]))",
            START_S + 2000 * STEP_S,
            [({"code": "200"}, "100"), ({"code": "500"}, "10")],
        ),
        (
            "at the end of the history errors are exactly 1 in 11 requests",
            'sum(okr_bench_requests_total{code="500"}) / sum(okr_bench_requests_total)',
            END_S,
            [({}, repr(2880 / 31680))],
        ),
        (
            "nothing is returned after the history ends (beyond the 5 m lookback)",
            "okr_bench_requests_total",
            END_S + 600,
            [],
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else None,
)
def test_backfilled_history_reads_back_exactly(
    prometheus_with_history: str,
    sentence: str,
    expr: str,
    at: int,
    expected: list[tuple[dict[str, str], str]],
) -> None:
    result = instant_query(prometheus_with_history, expr, at=at)
    got = sorted(((s["metric"], s["value"][1]) for s in result), key=lambda p: sorted(p[0].items()))
    assert got == expected, sentence
    assert all(s["value"][0] == at for s in result), sentence


def test_import_history_backfills_the_bench_prometheus_on_its_port(
    bench: Bench, tmp_path: Path
) -> None:
    run = f"r{int(time.time())}"
    end = (int(time.time()) // 60) * 60 - 3600
    points = [(end - i * STEP_S, float(1000 - i)) for i in range(120)]
    history = tmp_path / "probe.om"
    history.write_text(openmetrics_text([Series("okr_bench_import_probe", {"run": run}, points)]))

    output = bench.import_history(history)

    # import-history passes --max-block-duration=240h: blocks are aligned 10-day spans.
    blocks = len({at // (240 * 3600) for at, _ in points})
    assert re.fullmatch(
        rf"imported {re.escape(str(history))} \({blocks} blocks\); "
        r"Prometheus ready again in \d+\.\d s\n",
        output,
    ), output
    result = instant_query(
        bench.prometheus_url, f'okr_bench_import_probe{{run="{run}"}}', at=end - 600
    )
    assert [(s["metric"], s["value"]) for s in result] == [
        ({"__name__": "okr_bench_import_probe", "run": run}, [end - 600, "990"])
    ]


class _Metrics(BaseHTTPRequestHandler):
    body = b"okr_bench_exporter_up 1\n"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class's name
        pass  # keep pytest's output clean


def test_file_sd_targets_are_scraped_and_rule_files_reload(bench: Bench) -> None:
    server = HTTPServer(("127.0.0.1", free_port()), _Metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    name = f"bench-probe-{server.server_port}"
    target = bench.add_scrape_target(name, f"127.0.0.1:{server.server_port}", {"probe": name})
    rules = bench.prometheus_rules_dir / f"{name}.yml"
    try:
        query = f'okr_bench_exporter_up{{job="testenv",probe="{name}"}}'
        until(lambda: bool(instant_query(bench.prometheus_url, query)), 60, f"a scrape of {name}")
        rules.write_text(
            yaml.safe_dump(
                {"groups": [{"name": name, "rules": [{"record": "okr_bench:probe", "expr": "1"}]}]}
            )
        )
        bench.reload_prometheus()
        groups = api_get(bench.prometheus_url, "/api/v1/rules")["data"]["groups"]
        assert [g["file"] for g in groups if g["name"] == name] == [str(rules)]
    finally:
        target.unlink()
        rules.unlink(missing_ok=True)
        bench.reload_prometheus()
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- Alertmanager


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []  # noqa: RUF012 - shared with the test on purpose

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class's name
        pass


def test_a_throwaway_alertmanager_delivers_to_a_webhook(tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", free_port()), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = {
        "route": {"receiver": "hook", "group_wait": "1s", "group_interval": "1s"},
        "receivers": [
            {
                "name": "hook",
                "webhook_configs": [{"url": f"http://127.0.0.1:{server.server_port}/"}],
            }
        ],
    }
    try:
        with start_alertmanager(config, tmp_path / "am") as am:
            post(am.url, "/api/v2/alerts", [{"labels": {"alertname": "OkrBenchProbe"}}])
            until(lambda: bool(_Webhook.received), 30, "the webhook notification")
    finally:
        server.shutdown()
        server.server_close()
    (notification,) = _Webhook.received
    assert (
        notification["version"],
        notification["status"],
        notification["receiver"],
        [a["labels"] for a in notification["alerts"]],
    ) == ("4", "firing", "hook", [{"alertname": "OkrBenchProbe"}])


# --------------------------------------------------------------------------- tools


def pinned_versions() -> dict[str, str]:
    out = subprocess.run(
        [str(REPO_ROOT / "hack" / "tools.sh"), "versions"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


@pytest.mark.parametrize(
    ("sentence", "argv", "expected"),
    [
        ("helm reports its pinned version", ["helm", "version", "--short"], "v{HELM_VERSION}"),
        ("kubeconform reports its pinned version", ["kubeconform", "-v"], "v{KUBECONFORM_VERSION}"),
        (
            "kube-score reports its pinned version",
            ["kube-score", "version"],
            "kube-score version: v{KUBE_SCORE_VERSION}, commit: N/A, built: N/A",
        ),
        ("promtool is Debian's 2.42.0", ["promtool", "--version"], "promtool, version 2.42.0+ds"),
        ("etcd reports its pinned version", ["etcd", "--version"], "etcd Version: {ETCD_VERSION}"),
        (
            "kube-apiserver reports its pinned version",
            ["kube-apiserver", "--version"],
            "Kubernetes v{KUBE_VERSION}",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else None,
)
def test_a_tool_runs_and_reports_its_version(
    bench: Bench, sentence: str, argv: list[str], expected: str
) -> None:
    tool_path = bench.bin_dir / argv[0]
    binary = str(tool_path) if tool_path.exists() else argv[0]
    result = subprocess.run([binary, *argv[1:]], capture_output=True, text=True, check=True)
    first_line = (result.stdout or result.stderr).splitlines()[0]
    want = expected.format(**pinned_versions())
    assert first_line.split(" (")[0].split("+g")[0] == want, sentence


def test_kubectl_version_reports_client_and_server_of_the_pinned_minor(kubectl: Kubectl) -> None:
    versions = json.loads(kubectl("version", "-o", "json").stdout)
    want = f"v{pinned_versions()['KUBE_VERSION']}"
    assert (versions["clientVersion"]["gitVersion"], versions["serverVersion"]["gitVersion"]) == (
        want,
        want,
    )
