"""Run the real operator (``okr run``) as a process, and read what it wrote.

The e2e tests drive it only through the Kubernetes API and its /metrics, as
users do: they create objects, then wait for status, Events and series.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.support.processes import free_port

T = TypeVar("T")
GROUP, VERSION = "okr.dev", "v1alpha1"
PLURALS = {
    "KeyResult": "keyresults",
    "Objective": "objectives",
    "PrometheusSource": "prometheussources",
    "CheckIn": "checkins",
}


@dataclass
class RunningOperator:
    """An ``okr run`` process on loopback."""

    process: subprocess.Popen[bytes]
    metrics_url: str
    healthz_url: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of its log, for failure messages."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def metrics(self) -> str:
        """The current /metrics exposition."""
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:  # noqa: S310 - loopback
            return response.read().decode()

    def stop(self) -> None:
        """Terminate it (by its own pid) and wait."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_operator(
    *,
    kubeconfig: Path,
    prometheus_url: str | None,
    workdir: Path,
    namespaces: Iterable[str] = (),
    status_interval: str = "5s",
    operator_namespace: str = "okr-system",
    extra_args: Sequence[str] = (),
) -> RunningOperator:
    """Start ``okr run`` and wait until its liveness endpoint answers."""
    metrics_port, liveness_port = free_port(), free_port()
    scope = [f"--namespace={ns}" for ns in namespaces] or ["--all-namespaces"]
    cmd = [
        sys.executable, "-m", "okr_operator", "run", *scope,
        "--metrics-port", str(metrics_port),
        "--liveness-port", str(liveness_port),
        "--bind-address", "127.0.0.1",
        "--status-interval", status_interval,
        "--operator-namespace", operator_namespace,
    ]  # fmt: skip
    if prometheus_url:
        cmd += ["--prometheus-url", prometheus_url]
    cmd += extra_args
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    env.pop("OKR_PROMETHEUS_URL", None)
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "operator.log"
    log = log_path.open("wb")
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    running = RunningOperator(
        process=process,
        metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
        healthz_url=f"http://127.0.0.1:{liveness_port}/healthz",
        log_path=log_path,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"okr run exited with {process.returncode}:\n{running.log_tail()}")
        try:
            with urllib.request.urlopen(running.healthz_url, timeout=2):  # noqa: S310 - loopback
                return running
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    running.stop()
    raise RuntimeError(f"okr run did not become live within 60s:\n{running.log_tail()}")


class Kube:
    """A thin typed wrapper over the kubernetes client for tests."""

    def __init__(self, kubeconfig: Path) -> None:
        self.api = config.new_client_from_config(str(kubeconfig))
        self.custom = client.CustomObjectsApi(self.api)
        self.core = client.CoreV1Api(self.api)

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create one of our objects (or a Secret/Namespace) and return it."""
        kind = body["kind"]
        ns = body["metadata"].get("namespace", "")
        if kind == "Secret":
            return self.api.sanitize_for_serialization(self.core.create_namespaced_secret(ns, body))  # type: ignore[no-any-return]
        if kind == "ClusterPrometheusSource":
            return self.custom.create_cluster_custom_object(
                GROUP, VERSION, "clusterprometheussources", body
            )  # type: ignore[no-any-return]
        return self.custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURALS[kind], body)  # type: ignore[no-any-return]

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        """Read one of our objects."""
        return self.custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURALS[kind], name
        )  # type: ignore[no-any-return]

    def patch_spec(
        self, kind: str, namespace: str, name: str, spec: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Merge-patch the spec (as a user editing the object would)."""
        return self.custom.patch_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP,
            VERSION,
            namespace,
            PLURALS[kind],
            name,
            {"spec": dict(spec)},
            _content_type="application/merge-patch+json",
        )

    def events(self, namespace: str, name: str) -> list[Any]:
        """core/v1 Events about ``name`` in ``namespace``."""
        found = self.core.list_namespaced_event(
            namespace, field_selector=f"involvedObject.name={name}"
        )
        return list(found.items)

    def wait(
        self, what: str, probe: Callable[[], T | None], timeout: float = 45.0, log: str = ""
    ) -> T:
        """Poll ``probe`` until it returns something truthy; fail naming ``what``."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                result = probe()
            except (ApiException, KeyError, TypeError) as err:
                result, last = None, err
            if result:
                return result
            time.sleep(0.5)
        raise AssertionError(
            f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})\n{log}"
        )

    def wait_status(
        self,
        kind: str,
        namespace: str,
        name: str,
        check: Callable[[dict[str, Any]], bool],
        *,
        what: str,
        timeout: float = 45.0,
        log: str = "",
    ) -> dict[str, Any]:
        """Wait until ``check(status)`` holds and return the status."""

        def probe() -> dict[str, Any] | None:
            status = self.get(kind, namespace, name).get("status") or {}
            return status if check(status) else None

        return self.wait(f"{kind} {namespace}/{name}: {what}", probe, timeout, log)


def condition(status: Mapping[str, Any], type_: str) -> dict[str, Any]:
    """The condition of ``type_`` (empty dict when absent)."""
    for cond in status.get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}


def readyz(operator: RunningOperator) -> tuple[int, str]:
    """(status code, body) of the operator's /readyz."""
    url = operator.metrics_url.removesuffix("/metrics") + "/readyz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode().strip()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode().strip()
