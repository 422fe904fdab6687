"""The engine's scheduling, with in-memory ports.

The e2e tests run the engine against the real API server and Prometheus; these
look only at cadence and bookkeeping, which need sub-second intervals that the
API (minimum 10s) does not allow, so the ports here are small fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from okr_operator.domain.model import (
    KeyResult,
    KeyResultStatus,
    Objective,
    ObjectiveStatus,
    Period,
    Problem,
    QueryLanguage,
    Ref,
    SourceRef,
)
from okr_operator.services.engine import Engine

# The timeout turns a scheduler that never rests into a failure, not a hang.
pytestmark = [pytest.mark.unit, pytest.mark.timeout(30, method="thread")]

NOW = datetime.now(UTC)
PERIOD = Period(NOW - timedelta(days=45), NOW + timedelta(days=45))


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Querier:
    language = QueryLanguage.PROMQL

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def query(self, promql: str, at: datetime) -> Mapping[str, Any]:
        self.calls.append(promql)
        await asyncio.sleep(0)  # a real query yields to the event loop
        return {"status": "success", "data": {"resultType": "scalar", "result": [0, "150"]}}


class Resolver:
    def __init__(self, querier: Querier) -> None:
        self.querier = querier

    async def resolve(self, namespace: str, source: SourceRef | None) -> Querier | Problem:
        return self.querier

    def slot(
        self, namespace: str, source: SourceRef | None
    ) -> contextlib.AbstractAsyncContextManager[object]:
        return contextlib.nullcontext()


class Writer:
    def __init__(self) -> None:
        self.key_results: list[KeyResultStatus] = []
        self.objectives: list[ObjectiveStatus] = []

    async def write_key_result(self, ref: Ref, status: KeyResultStatus) -> None:
        self.key_results.append(status)

    async def write_objective(self, ref: Ref, status: ObjectiveStatus) -> None:
        self.objectives.append(status)


class Events:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def post(
        self, *, kind: str, ref: Ref, uid: str, type_: str, reason: str, message: str
    ) -> None:
        self.messages.append(f"{kind} {ref.name}: {message}")


class Observer:
    def __init__(self) -> None:
        self.evaluated: list[str] = []
        self.removed: list[Ref] = []

    def key_result_evaluated(
        self,
        kr: KeyResult,
        period: Period | None,
        status: KeyResultStatus,
        *,
        result: str,
        seconds: float,
        lateness: float,
    ) -> None:
        self.evaluated.append(result)

    def key_result_restored(
        self, kr: KeyResult, period: Period | None, status: KeyResultStatus
    ) -> None:
        pass

    def key_result_removed(self, ref: Ref) -> None:
        self.removed.append(ref)

    def objective_evaluated(self, obj: Objective, status: ObjectiveStatus) -> None:
        pass

    def objective_removed(self, ref: Ref) -> None:
        self.removed.append(ref)

    def status_written(self, kind: str) -> None:
        pass


async def run_for(engine: Engine, seconds: float) -> None:
    task = asyncio.create_task(engine.run())
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def engine_with(querier: Querier, writer: Writer, events: Events, observer: Observer) -> Engine:
    return Engine(
        resolver=Resolver(querier),
        writer=writer,
        events=events,
        observer=observer,
        clock=Clock(),
        status_interval=timedelta(hours=1),
        objective_interval=timedelta(seconds=0.5),
    )


def add(engine: Engine, interval: timedelta) -> None:
    goal = Objective(ref=Ref("ns", "goal"), generation=1, title="Goal", period=PERIOD)
    kr = KeyResult(
        ref=Ref("ns", "kr"), generation=1, objective="goal", query="q", target=200.0,
        baseline=100.0, interval=interval,
    )  # fmt: skip
    engine.upsert(
        "Objective",
        goal.ref,
        uid="o",
        generation=1,
        spec=goal,
        invalid=None,
        status=ObjectiveStatus(),
    )
    engine.upsert(
        "KeyResult", kr.ref, uid="k", generation=1, spec=kr, invalid=None, status=KeyResultStatus()
    )


async def test_each_key_result_is_evaluated_at_its_interval_not_more() -> None:
    querier, writer, events, observer = Querier(), Writer(), Events(), Observer()
    engine = engine_with(querier, writer, events, observer)
    add(engine, timedelta(seconds=0.3))
    await run_for(engine, 1.05)
    # At 0, 0.3, 0.6 and 0.9 s; a scheduler that re-runs at once would make hundreds.
    assert len(querier.calls) == 4
    assert observer.evaluated == ["success"] * 4


async def test_unchanged_status_is_written_once_and_the_transition_posted_once() -> None:
    querier, writer, events, observer = Querier(), Writer(), Events(), Observer()
    engine = engine_with(querier, writer, events, observer)
    add(engine, timedelta(seconds=0.2))
    await run_for(engine, 0.9)
    assert len(querier.calls) >= 4
    assert [(s.value, s.progress, s.health) for s in writer.key_results] == [
        (150.0, 0.5, "OnTrack")
    ]
    assert events.messages == [
        "KeyResult kr: Unknown → OnTrack (progress 0.50, expected 0.50)",
        "Objective goal: Unknown → OnTrack (progress 0.50, expected 0.50)",
    ]


async def test_a_deleted_key_result_is_not_evaluated_again() -> None:
    querier, writer, events, observer = Querier(), Writer(), Events(), Observer()
    engine = engine_with(querier, writer, events, observer)
    add(engine, timedelta(seconds=0.2))
    task = asyncio.create_task(engine.run())
    await asyncio.sleep(0.3)
    engine.remove("KeyResult", Ref("ns", "kr"))
    calls = len(querier.calls)
    await asyncio.sleep(0.5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert len(querier.calls) == calls
    assert observer.removed == [Ref("ns", "kr")]
