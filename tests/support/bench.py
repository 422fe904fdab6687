"""The test bench as tests see it: URLs, kubeconfigs, directories and helpers.

``hack/testenv.py up`` records the running bench in ``.testenv/state.json``;
``Bench.load()`` reads it. The ``bench`` fixture (tests/conftest.py) hands a
loaded, health-checked ``Bench`` to tests.

Re-exported here so tests import one module: ``free_port``, ``kubectl``,
``RunningProcess``, ``start_prometheus_with_history``, ``start_alertmanager``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.kube import (
    ApiResponse,
    KubectlError,
    api_request,
    kubectl,
    testenv_dir,
    token_kubeconfig,
)
from tests.support.processes import REPO_ROOT, RunningProcess, free_port, http_ready
from tests.support.prometheus import post, start_alertmanager, start_prometheus_with_history

__all__ = [
    "ApiResponse",
    "Bench",
    "BenchNotFoundError",
    "KubectlError",
    "RunningProcess",
    "free_port",
    "kubectl",
    "serviceaccount_kubeconfig",
    "start_alertmanager",
    "start_prometheus_with_history",
]

TESTENV_SCRIPT = REPO_ROOT / "hack" / "testenv.py"


class BenchNotFoundError(RuntimeError):
    """No bench was ever started here (no ``state.json`` / ``env.sh``)."""


@dataclass(frozen=True)
class Bench:
    """A running bench (what ``hack/testenv.py up`` recorded)."""

    root: Path
    kubeconfig: Path
    apiserver_url: str
    prometheus_url: str
    alertmanager_url: str
    victoriametrics_url: str
    bin_dir: Path

    @classmethod
    def load(cls, root: Path | None = None) -> Bench:
        root = root or testenv_dir()
        state = root / "state.json"
        if not state.exists():
            raise BenchNotFoundError(f"no test bench recorded at {state}; run make testenv-up")
        raw = json.loads(state.read_text())
        return cls(
            root=root,
            kubeconfig=Path(raw["kubeconfig"]),
            apiserver_url=raw["apiserver_url"],
            prometheus_url=raw["prometheus_url"],
            alertmanager_url=raw["alertmanager_url"],
            victoriametrics_url=raw["victoriametrics_url"],
            bin_dir=Path(raw["bin_dir"]),
        )

    # Directories and files tests read or write.
    @property
    def env_sh(self) -> Path:
        return self.root / "env.sh"

    @property
    def ca_cert(self) -> Path:
        return self.root / "pki" / "ca.crt"

    @property
    def admin_client_cert(self) -> tuple[Path, Path]:
        return self.root / "pki" / "admin.crt", self.root / "pki" / "admin.key"

    @property
    def prometheus_targets_dir(self) -> Path:
        """file_sd: each ``*.json`` here is a list of target groups Prometheus scrapes."""
        return self.root / "prometheus" / "targets"

    @property
    def prometheus_rules_dir(self) -> Path:
        """Each ``*.yml`` here is loaded after ``reload_prometheus()``."""
        return self.root / "prometheus" / "rules"

    @property
    def alertmanager_config(self) -> Path:
        return self.root / "alertmanager" / "alertmanager.yml"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def health_problems(self) -> list[str]:
        """Empty if every component answers its readiness probe."""
        problems = []
        ready = api_request(
            self.apiserver_url,
            self.ca_cert,
            "GET",
            "/readyz",
            client_cert=self.admin_client_cert,
        )
        if ready.status != 200:
            problems.append(f"kube-apiserver {self.apiserver_url}/readyz: {ready.status}")
        for name, url in (
            ("prometheus", self.prometheus_url),
            ("alertmanager", self.alertmanager_url),
        ):
            if not http_ready(f"{url}/-/ready"):
                problems.append(f"{name} {url}/-/ready does not answer 200")
        vm_health = f"{self.victoriametrics_url}/health"
        if not http_ready(vm_health):
            problems.append(f"victoriametrics {vm_health} does not answer 200")
        return problems

    def kubectl(
        self,
        *args: str,
        input: str | None = None,  # noqa: A002 - the name subprocess.run uses
        kubeconfig: Path | str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """kubectl as the bench admin, or as whoever ``kubeconfig`` names."""
        return kubectl(*args, input=input, kubeconfig=kubeconfig or self.kubeconfig, check=check)

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        content_type: str = "application/merge-patch+json",
    ) -> ApiResponse:
        """A raw API call, as admin (client cert) unless a bearer ``token`` is given."""
        return api_request(
            self.apiserver_url,
            self.ca_cert,
            method,
            path,
            body,
            token=token,
            client_cert=None if token else self.admin_client_cert,
            content_type=content_type,
        )

    def serviceaccount_token(self, namespace: str, name: str, duration: str = "24h") -> str:
        """Create the ServiceAccount if missing and mint a token (TokenRequest API)."""
        created = self.kubectl("create", "serviceaccount", name, "-n", namespace, check=False)
        if created.returncode != 0 and "already exists" not in created.stderr.lower():
            raise KubectlError(created.returncode, created.args, created.stdout, created.stderr)
        token = self.kubectl("create", "token", name, "-n", namespace, f"--duration={duration}")
        return token.stdout.strip()

    def serviceaccount_kubeconfig(
        self, namespace: str, name: str, path: Path, duration: str = "24h"
    ) -> Path:
        """Write a kubeconfig for ServiceAccount ``namespace/name`` to ``path``.

        The identity is ``system:serviceaccount:<namespace>:<name>`` with only
        the RBAC the test grants it, so the operator can run least-privileged.
        """
        token = self.serviceaccount_token(namespace, name, duration)
        user = f"system:serviceaccount:{namespace}:{name}"
        path.write_text(token_kubeconfig(self.apiserver_url, self.ca_cert, token, user, namespace))
        path.chmod(0o600)
        return path

    def reload_prometheus(self) -> None:
        """Re-read config and rule files (``POST /-/reload``)."""
        post(self.prometheus_url, "/-/reload")

    def reload_alertmanager(self) -> None:
        post(self.alertmanager_url, "/-/reload")

    def add_scrape_target(
        self, name: str, address: str, labels: Mapping[str, str] | None = None
    ) -> Path:
        """Let Prometheus scrape ``address`` (host:port) via file_sd; returns the file."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"scrape target name {name!r}: use letters, digits, '.', '_', '-'")
        path = self.prometheus_targets_dir / f"{name}.json"
        group = [{"targets": [address], "labels": dict(labels or {})}]
        tmp = path.with_suffix(".tmp")  # not *.json: Prometheus must never read half a file
        tmp.write_text(json.dumps(group))
        tmp.replace(path)
        return path

    def import_history(self, openmetrics: Path) -> str:
        """``hack/testenv.py import-history``: backfill into the bench's Prometheus."""
        result = subprocess.run(
            [
                sys.executable,
                str(TESTENV_SCRIPT),
                "--dir",
                str(self.root),
                "import-history",
                str(openmetrics),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"import-history failed ({result.returncode}): {result.stderr}")
        return result.stdout


def serviceaccount_kubeconfig(
    namespace: str, name: str, path: Path, duration: str = "24h", bench: Bench | None = None
) -> Path:
    """``Bench.serviceaccount_kubeconfig`` on the recorded bench (or the one given)."""
    return (bench or Bench.load()).serviceaccount_kubeconfig(namespace, name, path, duration)
