"""Fixtures every test tier shares: the bench, a fresh namespace, kubectl.

A missing bench skips bench tests on a developer's machine (``pytest -m unit``
needs none), but fails them under ``make test`` or ``CI=true``: CI must never
pass by skipping the tests that matter.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bench import Bench, BenchNotFoundError
from tests.support.kube import testenv_dir


def bench_required() -> bool:
    """True under CI or make (make sets MAKELEVEL for every recipe it runs)."""
    return os.environ.get("CI", "").lower() == "true" or "MAKELEVEL" in os.environ


@pytest.fixture(scope="session")
def bench() -> Bench:
    env_sh = testenv_dir() / "env.sh"
    if not env_sh.exists():
        reason = f"no test bench: {env_sh} is absent (start one with make testenv-up)"
        if bench_required():
            pytest.fail(f"{reason}; under make test or CI=true a missing bench is a failure")
        pytest.skip(reason)
    try:
        loaded = Bench.load(env_sh.parent)
    except BenchNotFoundError as error:
        pytest.fail(str(error))
    problems = loaded.health_problems()
    if problems:
        pytest.fail(
            "the test bench is not healthy: "
            + "; ".join(problems)
            + f" (logs in {loaded.logs_dir}; restart with hack/testenv.py down && make testenv-up)"
        )
    return loaded


class Kubectl:
    """``kubectl("get", "ns")``: the pinned kubectl as the bench admin."""

    def __init__(self, bench: Bench) -> None:
        self._bench = bench

    def __call__(
        self,
        *args: str,
        input: str | None = None,  # noqa: A002 - the name subprocess.run uses
        kubeconfig: Path | str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        return self._bench.kubectl(*args, input=input, kubeconfig=kubeconfig, check=check)


@pytest.fixture(scope="session")
def kubectl(bench: Bench) -> Kubectl:
    return Kubectl(bench)


def _namespace_name(test_name: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].rstrip("-")
    return f"t-{slug}-{secrets.token_hex(3)}"


@pytest.fixture
def kube_namespace(bench: Bench, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, named after it.

    No kube-controller-manager runs, so a deleted namespace stays Terminating
    forever: teardown does not wait for it. It deletes the okr.dev objects in
    it first, so an operator a later test starts does not pick them up.
    """
    name = _namespace_name(request.node.name)
    bench.kubectl("create", "namespace", name)
    bench.kubectl("label", "namespace", name, "okr.dev/test-namespace=true")
    yield name
    resources = bench.kubectl("api-resources", "--namespaced=true", "-o", "name", check=False)
    ours = [r for r in resources.stdout.split() if r.endswith("okr.dev")]
    if ours:
        deleted = bench.kubectl(
            "delete", ",".join(ours), "--all", "-n", name, "--wait=false", check=False
        )
        if deleted.returncode != 0:
            warnings.warn(f"cleaning namespace {name}: {deleted.stderr}", stacklevel=1)
    bench.kubectl("delete", "namespace", name, "--wait=false", check=False)
