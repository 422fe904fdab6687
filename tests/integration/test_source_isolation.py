"""One hanging source delays only its own key results.

The real engine and the real source resolver (per-source lanes, the HTTP
stack) run against a loopback upstream with one source that never answers and
one that answers at once. A fake upstream is needed because a real Prometheus
cannot be made to hang on purpose; the status writer, Events and metrics are
in-memory ports (they are not what this test is about). Intervals of 1 s are
below what the API allows (10 s), which is why this runs the engine directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from okr_operator.adapters.sources import SourceResolver
from okr_operator.domain.model import (
    KeyResult,
    KeyResultStatus,
    Objective,
    ObjectiveStatus,
    Period,
    Ref,
    SourceKind,
    SourceRef,
)
from okr_operator.domain.sources import PrometheusSourceSpec
from okr_operator.services.engine import Engine
from tests.support.fake_upstream import FakeUpstream, fake_upstream

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90, method="thread")]

NOW = datetime.now(UTC)
HANGING, HEALTHY = 26, 14  # the figures of issue 8


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Nowhere:
    """Status writes, Events and metrics: recorded where the test needs them."""

    def __init__(self) -> None:
        self.evaluated: dict[str, list[float]] = defaultdict(list)

    async def write_key_result(self, ref: Ref, status: Any) -> None:
        pass

    async def write_check_in(self, ref: Ref, conditions: Any, generation: int) -> None:
        pass

    async def write_objective(self, ref: Ref, status: Any) -> None:
        pass

    async def post(self, **_: Any) -> None:
        pass

    def key_result_evaluated(self, kr: KeyResult, *_: Any, result: str, **__: Any) -> None:
        self.evaluated[f"{kr.ref.name} {result}"].append(asyncio.get_running_loop().time())

    def key_result_restored(self, *_: Any) -> None:
        pass

    def key_result_removed(self, ref: Ref) -> None:
        pass

    def objective_evaluated(self, *_: Any) -> None:
        pass

    def objective_removed(self, ref: Ref) -> None:
        pass

    def status_written(self, kind: str) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


def key_result(name: str, source: str) -> KeyResult:
    return KeyResult(
        ref=Ref("ns", name), generation=1, objective="goal", query="up", target=100.0,
        baseline=0.0, interval=timedelta(seconds=1),
        source=SourceRef(SourceKind.PROMETHEUS_SOURCE, source),
    )  # fmt: skip


async def test_key_results_on_a_healthy_source_keep_their_cadence_while_another_hangs(
    upstream: FakeUpstream,
) -> None:
    resolver = SourceResolver(
        default_url=None, kube=None, operator_namespace="okr-system",  # type: ignore[arg-type]
        max_concurrent_queries=4,
    )  # fmt: skip
    hang = PrometheusSourceSpec(url=upstream.url("hang"), timeout=timedelta(seconds=5))
    resolver.set_source(SourceKind.PROMETHEUS_SOURCE, "ns", "hanging", hang)
    resolver.set_source(
        SourceKind.PROMETHEUS_SOURCE, "ns", "healthy", PrometheusSourceSpec(url=upstream.url("ok"))
    )
    ports = Nowhere()
    engine = Engine(
        resolver=resolver, writer=ports, events=ports, observer=ports, clock=Clock(),
        concurrency=16,  # fewer global slots than key results on the hanging source
    )  # fmt: skip
    goal = Objective(
        ref=Ref("ns", "goal"), generation=1, title="Goal",
        period=Period(NOW - timedelta(days=45), NOW + timedelta(days=45)),
    )  # fmt: skip
    engine.upsert_objective(
        goal.ref, uid="o", generation=1, spec=goal, invalid=None,
        status=ObjectiveStatus(),
    )  # fmt: skip
    names = [(f"hang-{i}", "hanging") for i in range(HANGING)]
    names += [(f"ok-{i}", "healthy") for i in range(HEALTHY)]
    for name, source in names:
        kr = key_result(name, source)
        engine.upsert_key_result(
            kr.ref, uid=name, generation=1, spec=kr, invalid=None,
            status=KeyResultStatus(),
        )  # fmt: skip
    engine.listed()
    task = asyncio.create_task(engine.run())
    await asyncio.sleep(12)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    resolver.close()

    gaps = {
        name: max(b - a for a, b in itertools.pairwise(times))
        for name, times in ports.evaluated.items()
        if name.startswith("ok-")
    }
    assert sorted(gaps) == [f"ok-{i} success" for i in sorted(range(HEALTHY), key=str)]
    # Every healthy key result ran every second (11 or 12 times in 12 s), never
    # waiting behind the hanging source's 5 s timeouts.
    assert all(len(ports.evaluated[name]) >= 10 for name in gaps), ports.evaluated
    assert max(gaps.values()) < 1.5, gaps
    # The hanging source got only its 4 slots: 4 queries per 5 s timeout.
    assert upstream.count("hang") <= 4 * 3, upstream.count("hang")
    assert sum(len(t) for n, t in ports.evaluated.items() if n.startswith("hang-")) <= 12
