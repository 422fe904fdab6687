"""An API-server outage: Events and status writes wait for it, none is lost (issue 8).

Why a proxy and not the bench's kube-apiserver itself: ``hack/testenv.py`` can
only bring the whole bench up or down, and stopping the one API server that a
``make test`` session shares would break every other test and session fixture
that talks to it meanwhile. So the operator under test reaches the real API
server through a loopback TCP proxy (``tests.support.cut_proxy``) that the test
cuts (connections refused, watches broken) and restores; for the operator that
is an outage, and the API server behind it is the real one.

The key result's value comes from a fake upstream whose answer the test sets
(``tests.support.fake_upstream``, mode ``value``), so its health changes while
the API server is away: the HealthChanged Event and the status write must both
arrive once it is back (retried, not lost, not a whole interval late), exactly
once, with no traceback in the log (kopf logs its watch retries as one-line
errors, which stay).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_key_results import objective
from tests.support.bench import Bench
from tests.support.cut_proxy import CutProxy, cut_proxy
from tests.support.fake_upstream import FakeUpstream, fake_upstream
from tests.support.runner import Kube, start_operator

pytestmark = pytest.mark.faults


@pytest.fixture
def team(kube: Kube) -> Iterator[str]:
    name = f"outage-{uuid.uuid4().hex[:8]}"
    kube.core.create_namespace({"metadata": {"name": name}})
    kube.create(objective(name))
    kube.create(
        {
            "apiVersion": "okr.dev/v1alpha1",
            "kind": "KeyResult",
            "metadata": {"name": "kr", "namespace": name},
            "spec": {
                "objectiveRef": {"name": "goal"},
                "query": "vector(1)",
                "baseline": 0,
                "target": 100,
                "interval": "10s",
            },
        }
    )
    yield name
    for plural in ("keyresults", "objectives"):
        kube.custom.delete_collection_namespaced_custom_object("okr.dev", "v1alpha1", name, plural)
    kube.core.delete_namespace(name)


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        running.value = "60"  # progress 0.6 of a period half gone: OnTrack
        yield running


@pytest.fixture
def proxy(bench: Bench, operator_kubeconfig: Path, tmp_path: Path) -> Iterator[CutProxy]:
    """The proxy; ``proxy.kubeconfig`` is the operator's, through it."""
    with cut_proxy(bench.apiserver_url) as running:
        running.kubeconfig = through(running, operator_kubeconfig, tmp_path / "kubeconfig")
        yield running


def through(proxy: CutProxy, kubeconfig: Path, path: Path) -> Path:
    """``kubeconfig`` with its server swapped for the proxy."""
    doc = json.loads(kubeconfig.read_text())
    doc["clusters"][0]["cluster"]["server"] = proxy.url
    path.write_text(json.dumps(doc))
    return path


def health_events(kube: Kube, team: str) -> list[str]:
    return sorted(str(e.message) for e in kube.events(team, "kr") if e.reason == "HealthChanged")


def tracebacks(log: str) -> list[dict[str, Any]]:
    """Log lines that carry a traceback, the operator's or kopf's."""
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [e for e in entries if "exception" in e]


def test_an_outage_loses_no_event_and_delays_no_status_write(
    kube: Kube, team: str, upstream: FakeUpstream, proxy: CutProxy, tmp_path: Path
) -> None:
    running = start_operator(
        kubeconfig=proxy.kubeconfig,
        prometheus_url=upstream.url("value"),
        workdir=tmp_path,
        namespaces=[team],
    )
    try:
        kube.wait_status(
            "KeyResult", team, "kr", lambda s: s.get("health") == "OnTrack",
            what="OnTrack at value 60", log=running.log_tail(),
        )  # fmt: skip
        before = health_events(kube, team)
        assert len(before) == 1, before  # Unknown -> OnTrack

        proxy.cut()
        upstream.value = "0"

        def logged(text: str) -> bool:
            return text in running.log_path.read_text()

        kube.wait("the health change", lambda: logged('"from": "OnTrack"'), log=running.log_tail())
        kube.wait(
            "a failed Event",
            lambda: logged("Posting an Event failed; retrying"),
            log=running.log_tail(),
        )
        kube.wait(
            "a failed status write",
            lambda: logged("Status write failed; retrying"),
            log=running.log_tail(),
        )
        proxy.restore()

        # Within less than a minute of the return (the old code waited a whole
        # minute after a failed write, and dropped the Event).
        kube.wait_status(
            "KeyResult", team, "kr", lambda s: s.get("health") not in (None, "OnTrack"),
            what="the new health written after the outage", timeout=40, log=running.log_tail(),
        )  # fmt: skip
        after = kube.wait(
            "the HealthChanged Event posted after the outage",
            lambda: [m for m in health_events(kube, team) if m.startswith("OnTrack → ")],
            timeout=40,
            log=running.log_tail(),
        )
        assert len(after) == 1, health_events(kube, team)  # not duplicated
        log = running.log_path.read_text()
        assert "Every waiting Event is posted" in log
        assert tracebacks(log) == [], tracebacks(log)[:2]
        assert "Traceback" not in log
    finally:
        running.stop()
