"""PrometheusSource and ClusterPrometheusSource against a Prometheus that demands them.

The Prometheus here serves HTTPS with a certificate from a throwaway CA and
requires basic auth (its own ``--web.config.file``), so credentials and the
CA really travel from Secrets to the request. Secrets must never surface in
status, Events or the operator's log.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from tests.e2e import history
from tests.e2e.conftest import OPERATOR_NAMESPACE
from tests.e2e.test_key_results import evaluated, key_result, objective, series
from tests.support.fake_upstream import FakeUpstream, fake_upstream
from tests.support.processes import free_port, tool
from tests.support.prometheus import RETENTION, backfill
from tests.support.runner import Kube, RunningOperator, condition
from tests.support.tls import make_server_certificate

pytestmark = pytest.mark.e2e

USER, PASSWORD, WRONG = "okr", "correct-horse-battery-staple", "tr0ub4dor-and-3"


@dataclass
class SecuredPrometheus:
    """An HTTPS, basic-auth Prometheus holding the e2e history."""

    url: str
    ca_pem: str


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredPrometheus]:
    workdir = tmp_path_factory.mktemp("secured-prometheus")
    tls = make_server_certificate(workdir / "tls")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    web = workdir / "web.yml"
    web.write_text(json.dumps({
        "tls_server_config": {"cert_file": str(tls.cert_file), "key_file": str(tls.key_file)},
        "basic_auth_users": {USER: hashed},
    }))  # fmt: skip
    (workdir / "prometheus.yml").write_text("global: {}\n")
    backfill(history.openmetrics(), workdir / "data", workdir)
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            tool("prometheus"), f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}", f"--storage.tsdb.retention.time={RETENTION}",
            f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={web}",
            "--query.lookback-delta=3h",
        ],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    context = ssl.create_default_context(cadata=tls.ca_pem)
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(f"{url}/-/ready", headers={"Authorization": f"Basic {token}"})  # noqa: S310 - https on loopback
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(request, context=context, timeout=2):  # noqa: S310 - loopback
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError((workdir / "prometheus.log").read_text()[-2000:]) from None
            time.sleep(0.3)
    yield SecuredPrometheus(url=url, ca_pem=tls.ca_pem)
    process.terminate()
    process.wait(timeout=20)


def secret(ns: str, name: str, data: dict[str, str]) -> dict[str, Any]:
    """A Secret with ``data`` as stringData."""
    return {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns}, "stringData": data,
    }  # fmt: skip


def source(ns: str, name: str, url: str, **spec: Any) -> dict[str, Any]:
    """A PrometheusSource."""
    return {
        "apiVersion": "okr.dev/v1alpha1", "kind": "PrometheusSource",
        "metadata": {"name": name, "namespace": ns}, "spec": {"url": url, "timeout": "5s", **spec},
    }  # fmt: skip


def test_credentials_and_ca_come_from_secrets_and_never_leak(
    kube: Kube, ns: str, secured: SecuredPrometheus, operator: RunningOperator
) -> None:
    kube.create(objective(ns))
    kube.create(secret(ns, "auth", {"username": USER, "password": PASSWORD}))
    kube.create(secret(ns, "wrong", {"username": USER, "password": WRONG}))
    kube.create(secret(ns, "ca", {"ca.crt": secured.ca_pem}))
    tls = {"caSecretRef": {"name": "ca", "key": "ca.crt"}}
    kube.create(source(ns, "good", secured.url, basicAuthSecretRef={"name": "auth"}, tls=tls,
                       headers={"X-Scope-OrgID": "team-a"}))  # fmt: skip
    kube.create(source(ns, "badpass", secured.url, basicAuthSecretRef={"name": "wrong"}, tls=tls))
    kube.create(source(ns, "noca", secured.url, basicAuthSecretRef={"name": "auth"}))
    kube.create(source(ns, "nosecret", secured.url, basicAuthSecretRef={"name": "absent"}, tls=tls))
    for name in ("good", "badpass", "noca", "nosecret"):
        ref = {"kind": "PrometheusSource", "name": name}
        kube.create(key_result(ns, name, series("ontrack"), 200, baseline=100, sourceRef=ref))

    def secret_missing(status: dict[str, Any]) -> bool:
        return condition(status, "Ready").get("message", "").startswith("Secret ")

    log = operator.log_tail()
    got = {
        name: kube.wait_status("KeyResult", ns, name, evaluated, what="a health", log=log)
        for name in ("good", "badpass", "noca")
    }
    got["nosecret"] = kube.wait_status(
        "KeyResult", ns, "nosecret", secret_missing, what="the missing Secret", log=log
    )
    assert (got["good"].get("value"), got["good"]["health"]) == (160.0, "OnTrack"), got["good"]

    badpass = condition(got["badpass"], "Ready")
    assert (badpass["status"], badpass["reason"]) == ("False", "QueryFailed")
    assert "HTTP 401" in badpass["message"]

    noca = condition(got["noca"], "Ready")
    assert noca["reason"] == "QueryFailed"
    assert "certificate verify failed: unable to get local issuer" in noca["message"], noca

    nosecret = condition(got["nosecret"], "Ready")
    assert (nosecret["reason"], nosecret["message"]) == (
        "ReferenceNotFound",
        f"Secret {ns}/absent (spec.basicAuthSecretRef of PrometheusSource {ns}/nosecret) not found",
    )

    everything = json.dumps([kube.get("KeyResult", ns, n) for n in got])
    everything += json.dumps([e.message for n in got for e in kube.events(ns, n)])
    everything += operator.log_path.read_text(errors="replace")
    for credential in (PASSWORD, WRONG, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()):
        assert credential not in everything


def test_a_cluster_source_reads_secrets_from_the_operator_namespace(
    kube: Kube, ns: str, secured: SecuredPrometheus, operator: RunningOperator
) -> None:
    suffix = ns.removeprefix("e2e-")
    kube.create(
        secret(OPERATOR_NAMESPACE, f"auth-{suffix}", {"username": USER, "password": PASSWORD})
    )
    kube.create(secret(OPERATOR_NAMESPACE, f"ca-{suffix}", {"ca.crt": secured.ca_pem}))
    kube.create({
        "apiVersion": "okr.dev/v1alpha1", "kind": "ClusterPrometheusSource",
        "metadata": {"name": f"shared-{suffix}"},
        "spec": {
            "url": secured.url, "basicAuthSecretRef": {"name": f"auth-{suffix}"},
            "tls": {"caSecretRef": {"name": f"ca-{suffix}", "key": "ca.crt"}},
        },
    })  # fmt: skip
    kube.create(objective(ns))
    ref = {"kind": "ClusterPrometheusSource", "name": f"shared-{suffix}"}
    kube.create(key_result(ns, "kr", series("ontrack"), 200, baseline=100, sourceRef=ref))
    status = kube.wait_status(
        "KeyResult", ns, "kr", evaluated, what="a health", log=operator.log_tail()
    )
    assert (status["value"], status["health"]) == (160.0, "OnTrack")


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    """Misbehaving upstreams on loopback (a real Prometheus never echoes headers)."""
    with fake_upstream() as running:
        yield running


def query_failed(status: dict[str, Any]) -> bool:
    """True once Ready says QueryFailed."""
    return condition(status, "Ready").get("reason") == "QueryFailed"


def test_an_upstream_echoing_credentials_leaks_none_of_them(
    kube: Kube, ns: str, upstream: FakeUpstream, operator: RunningOperator
) -> None:
    token, tenant = "e2e-token-9c41d7", "e2e-tenant-5b2e"
    kube.create(objective(ns))
    kube.create(secret(ns, "token", {"token": token}))
    kube.create(secret(ns, "auth", {"username": USER, "password": PASSWORD}))
    sources = {
        "bearer": {"bearerTokenSecretRef": {"name": "token", "key": "token"}},
        "basic": {"basicAuthSecretRef": {"name": "auth"}},
    }
    for name, auth in sources.items():
        for mode in ("echo401", "echojson"):
            kube.create(source(ns, f"{name}-{mode}", upstream.url(mode), **auth,
                               headers={"X-Scope-OrgID": tenant}))  # fmt: skip
            ref = {"kind": "PrometheusSource", "name": f"{name}-{mode}"}
            kube.create(key_result(ns, f"{name}-{mode}", "up", 1, baseline=0, sourceRef=ref))
    names = [f"{name}-{mode}" for name in sources for mode in ("echo401", "echojson")]
    statuses = {
        name: kube.wait_status(
            "KeyResult", ns, name, query_failed, what="QueryFailed", log=operator.log_tail()
        )
        for name in names
    }
    for name, status in statuses.items():
        message = condition(status, "Ready")["message"]
        assert "HTTP 401" in message or "auth: denied" in message, (name, message)
        assert "***" in message, (name, message)  # the echo arrived, masked
    pair = f"{USER}:{PASSWORD}".encode()
    credentials = [token, tenant, PASSWORD, base64.b64encode(pair).decode(),
                   base64.b64encode(pair).decode().rstrip("=")]  # fmt: skip
    everything = json.dumps([kube.get("KeyResult", ns, n) for n in names])
    everything += json.dumps([e.message for n in names for e in kube.events(ns, n)])
    everything += operator.log_path.read_text(errors="replace")
    assert upstream.count("echo401") > 0
    assert upstream.count("echojson") > 0
    for credential in credentials:
        assert credential not in everything, credential


def _peak_rss_mib(operator: RunningOperator) -> float:
    """The operator's resident-memory high-water mark (VmHWM)."""
    status = Path(f"/proc/{operator.process.pid}/status").read_text(encoding="ascii")
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def test_a_trickling_or_huge_answer_ends_at_the_deadline_or_the_size_limit(
    kube: Kube, ns: str, upstream: FakeUpstream, operator: RunningOperator
) -> None:
    # The fake upstream offers 50 MB and one byte every 2 s (a real Prometheus
    # does neither). The key result "slow" first has a good value from "ok".
    kube.create(objective(ns))
    kube.create(source(ns, "slow", upstream.url("ok"), timeout="3s"))
    kube.create(source(ns, "huge", upstream.url("huge"), timeout="20s"))
    ref = {"kind": "PrometheusSource", "name": "slow"}
    kube.create(key_result(ns, "slow", "up", 100, baseline=0, sourceRef=ref))
    log = operator.log_tail()
    good = kube.wait_status("KeyResult", ns, "slow", evaluated, what="a health", log=log)
    assert (good["value"], condition(good, "Ready")["status"]) == (42.0, "True"), good
    peak_before = _peak_rss_mib(operator)
    ref = {"kind": "PrometheusSource", "name": "huge"}
    kube.create(key_result(ns, "huge", "up", 100, baseline=0, sourceRef=ref))
    kube.custom.patch_namespaced_custom_object(
        "okr.dev", "v1alpha1", ns, "prometheussources", "slow",
        {"spec": {"url": upstream.url("trickle")}},
        _content_type="application/merge-patch+json",
    )  # fmt: skip
    started = time.monotonic()
    slow = kube.wait_status("KeyResult", ns, "slow", query_failed, what="QueryFailed", log=log)
    # One interval (10 s) until the next query, then the 3 s deadline.
    assert time.monotonic() - started < 25
    ready = condition(slow, "Ready")
    assert ready["message"] == (
        f"timeout: timed out waiting for an answer from {upstream.url('trickle')}: "
        "no complete answer within 3s (the source's timeout)"
    )
    assert (ready["status"], slow["value"]) == ("False", 42.0)  # last good value kept
    huge = kube.wait_status("KeyResult", ns, "huge", query_failed, what="QueryFailed", log=log)
    assert condition(huge, "Ready")["message"] == (
        f"response_too_large: {upstream.url('huge')} answered more than 4 MiB, the limit of "
        "okr run --max-response-bytes (a key result's query must yield one number)"
    )
    assert upstream.count("huge") >= 1
    # Reading stops at the 4 MiB limit: the 50 MB never reach memory.
    assert _peak_rss_mib(operator) - peak_before < 40, (peak_before, _peak_rss_mib(operator))
