"""The admission webhook on the bench's kube-apiserver, with ``kubectl apply``.

One operator run serves the webhook with the CA it issued at start and
patches the chart's ValidatingWebhookConfiguration with it, as the chart's
ServiceAccount (so the RBAC rule for that is exercised too). The configuration
is the chart's own render, with one change: the bench has no Service network
(no kube-proxy, no endpoints), so each ``clientConfig.service`` becomes the
``url`` of the operator on loopback, path kept. Then:

- a manifest ``okr validate`` calls an error is refused with its message;
- a good one is admitted, with ``okr validate``'s warnings as kubectl warnings;
- an object that is already invalid (created while the operator was not
  running) takes a new label, with its problems as warnings;
- a MetricsQL query is refused for the default (PromQL) source and admitted for
  a PrometheusSource that declares MetricsQL;
- before the operator starts and after it stopped, failurePolicy Ignore (the
  chart's default) admits a manifest the webhook would refuse (the schema
  accepts it).
"""

from __future__ import annotations

import base64
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from okr_operator.api.spec import validate_document
from okr_operator.cli.webhook import validate_warnings
from tests.e2e.conftest import OPERATOR_NAMESPACE
from tests.support.helm import CHART_DIR, helm
from tests.support.kube import kubectl
from tests.support.processes import free_port
from tests.support.runner import Kube, start_operator

pytestmark = pytest.mark.e2e

# The release name the e2e ServiceAccount's ClusterRole was rendered with: its
# rule names the configuration "okr-operator".
CONFIGURATION = "okr-operator"


def _chart_configuration(port: int) -> dict[str, Any]:
    rendered = helm(
        "template", "okr-operator", str(CHART_DIR), "--namespace", OPERATOR_NAMESPACE,
        "--show-only", "templates/webhook.yaml",
    )  # fmt: skip
    [config] = [
        doc
        for doc in yaml.safe_load_all(rendered)
        if doc and doc["kind"] == "ValidatingWebhookConfiguration"
    ]
    assert config["metadata"]["name"] == CONFIGURATION
    for webhook in config["webhooks"]:
        assert webhook["failurePolicy"] == "Ignore", "the chart's default is what is tested"
        path = webhook["clientConfig"].pop("service")["path"]
        webhook["clientConfig"]["url"] = f"https://127.0.0.1:{port}{path}"
    return config  # type: ignore[no-any-return]


@pytest.fixture
def webhook_configuration(admin_kubeconfig: Path) -> Iterator[int]:
    """The chart's configuration pointing at a free loopback port; removed afterwards.

    It matches OKR objects in every namespace, so it must not outlive the test.
    """
    port = free_port()
    config = _chart_configuration(port)
    kubectl("delete", "validatingwebhookconfiguration", CONFIGURATION, "--ignore-not-found")
    kubectl("create", "-f", "-", input=yaml.safe_dump(config))
    try:
        yield port
    finally:
        kubectl("delete", "validatingwebhookconfiguration", CONFIGURATION, "--ignore-not-found")


def _key_result(ns: str, name: str, query: str) -> dict[str, Any]:
    return {
        "apiVersion": "okr.dev/v1alpha1",
        "kind": "KeyResult",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "objectiveRef": {"name": "fast-checkout"},
            "query": query,
            "baseline": 0.8,
            "target": 0.3,
        },
    }


def _objective(ns: str, name: str, time_zone: str) -> dict[str, Any]:
    return {
        "apiVersion": "okr.dev/v1alpha1",
        "kind": "Objective",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "title": "Checkout is fast",
            "period": {"quarter": "2026-Q4", "timeZone": time_zone},
        },
    }


def _apply(doc: dict[str, Any], *flags: str) -> subprocess.CompletedProcess[str]:
    return kubectl("apply", *flags, "-f", "-", input=yaml.safe_dump(doc), check=False)


def _bundles(kube: Kube) -> list[str | None]:
    config = client.AdmissionregistrationV1Api(kube.api).read_validating_webhook_configuration(
        CONFIGURATION
    )
    return [webhook.client_config.ca_bundle for webhook in config.webhooks]


def _serves_tls(port: int, ca_bundle: str) -> bool:
    """Whether the webhook answers TLS with a certificate the bundle vouches for."""
    context = ssl.create_default_context(cadata=base64.b64decode(ca_bundle).decode())
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1"),
        ):
            return True
    except ConnectionError:
        return False


def test_webhook_should_refuse_what_validate_refuses_and_step_aside_when_down(
    operator_kubeconfig: Path,
    kube: Kube,
    webhook_configuration: int,
    tmp_path: Path,
) -> None:
    port = webhook_configuration
    ns = f"webhook-{uuid.uuid4().hex[:8]}"
    kube.core.create_namespace({"metadata": {"name": ns}})
    # Before the operator runs, nothing answers: failurePolicy Ignore admits.
    legacy = _key_result(ns, "legacy", "sum(rate(http_requests_total[5m])")
    assert _apply(legacy).returncode == 0
    operator = start_operator(
        kubeconfig=operator_kubeconfig,
        prometheus_url=None,
        workdir=tmp_path / "operator",
        namespaces=[ns],
        operator_namespace=OPERATOR_NAMESPACE,
        extra_args=[
            "--webhook-port", str(port),
            "--webhook-host", "127.0.0.1",
            "--webhook-configuration", CONFIGURATION,
        ],
    )  # fmt: skip
    try:
        bundles = kube.wait(
            "the operator to set every webhook's caBundle",
            lambda: (b := _bundles(kube)) and all(b) and b,
            log=operator.log_tail(),
        )
        assert len(bundles) == 4
        [bundle] = set(bundles)
        kube.wait(
            "the webhook to serve TLS with the bundle's CA",
            lambda: _serves_tls(port, bundle),
            log=operator.log_tail(),
        )

        bad_query = _key_result(ns, "bad-query", "sum(rate(http_requests_total[5m])")
        refused = _apply(bad_query)
        assert refused.returncode == 1, refused.stdout
        [expected] = validate_document(bad_query)
        assert expected.startswith(f"KeyResult {ns}/bad-query: spec.query: invalid PromQL")
        assert refused.stderr.strip().endswith(
            f'admission webhook "keyresults.okr.dev" denied the request: {expected}'
        ), refused.stderr

        bad_zone = _objective(ns, "bad-zone", "Mars/Olympus")
        refused = _apply(bad_zone)
        assert refused.returncode == 1, refused.stdout
        [expected] = validate_document(bad_zone)
        assert refused.stderr.strip().endswith(
            f'admission webhook "objectives.okr.dev" denied the request: {expected}'
        ), refused.stderr

        # An object that is already invalid still takes labels, with its problems as warnings.
        labelled = kubectl("label", "keyresult", "legacy", "-n", ns, "okr.dev/team=payments")
        assert labelled.stderr.splitlines() == [
            f"Warning: {line} (admitted: the spec did not change)"
            for line in validate_document(legacy)
        ]

        # Cluster-scoped too: the schema's pattern accepts the URL, the rules do not.
        bad_url = {
            "apiVersion": "okr.dev/v1alpha1",
            "kind": "ClusterPrometheusSource",
            "metadata": {"name": f"{ns}-no-host"},
            "spec": {"url": "https://:9090"},
        }
        refused = _apply(bad_url)
        assert refused.returncode == 1, refused.stdout
        [expected] = validate_document(bad_url)
        assert refused.stderr.strip().endswith(
            f'admission webhook "clusterprometheussources.okr.dev" denied the request: {expected}'
        ), refused.stderr

        for good in (
            _objective(ns, "fast-checkout", "Europe/Berlin"),
            _key_result(ns, "p95", "sum(rate(http_requests_total[5m]))"),
        ):
            admitted = _apply(good)
            assert admitted.returncode == 0, admitted.stderr
            assert admitted.stderr == ""
        assert kube.get("KeyResult", ns, "p95")["spec"]["query"] == (
            "sum(rate(http_requests_total[5m]))"
        )

        # okr validate's warnings reach kubectl; the object is admitted.
        percent = _key_result(
            ns, "availability", "sum(rate(ok_total[5m])) / sum(rate(all_total[5m]))"
        )
        percent["spec"].update(baseline=0.5, target=99.9)
        warned = _apply(percent)
        assert warned.returncode == 0, warned.stderr
        [warning] = validate_warnings(percent)
        assert "looks like a percentage" in warning
        assert warned.stderr.splitlines() == [f"Warning: {warning}"]

        # MetricsQL is refused for the default (PromQL) source, admitted for a source
        # that declares it once the operator's watch has seen that source.
        metricsql = _key_result(ns, "metricsql", "sum(rate(http_requests_total[5m])) default 0")
        assert _apply(metricsql).returncode == 1
        source = {
            "apiVersion": "okr.dev/v1alpha1",
            "kind": "PrometheusSource",
            "metadata": {"name": "victoria", "namespace": ns},
            "spec": {"url": "http://127.0.0.1:8428", "queryLanguage": "MetricsQL"},
        }
        assert _apply(source).returncode == 0
        metricsql["spec"]["sourceRef"] = {"kind": "PrometheusSource", "name": "victoria"}
        kube.wait(
            "the MetricsQL key result to pass a server-side dry run",
            lambda: _apply(metricsql, "--dry-run=server").returncode == 0,
            log=operator.log_tail(),
        )
        assert _apply(metricsql).returncode == 0
        # A refusal is someone's manifest, not an operator fault: not an ERROR line.
        log = operator.log_path.read_text()
        assert (
            f'"level": "info", "logger": "kopf.objects", "message": "admission refused: {expected}'
            in log
        )
        assert "failed permanently" not in log
    finally:
        operator.stop()

    assert not _serves_tls(port, bundle)
    started = time.monotonic()
    admitted = _apply(bad_query)
    assert admitted.returncode == 0, admitted.stderr
    assert kube.get("KeyResult", ns, "bad-query")["spec"]["query"] == bad_query["spec"]["query"]
    # Refused connections are ignored at once, not after the webhook's timeout.
    assert time.monotonic() - started < 5
