"""The engine's scheduling, write rule, restart and Events, with in-memory ports.

The e2e tests run the engine against the real API server and Prometheus; these
look at cadence, phases and bookkeeping, which need sub-second intervals that
the API (minimum 10s) does not allow, so the ports here are small fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from okr_operator.domain.model import (
    CarriedFrom,
    Commitment,
    Condition,
    Health,
    KeyResult,
    KeyResultStatus,
    Objective,
    ObjectiveStatus,
    Period,
    Problem,
    QueryLanguage,
    Ref,
    RollupMode,
    SourceRef,
)
from okr_operator.domain.snapshot import KeyResultSnapshot, ObjectiveSnapshot
from okr_operator.services.engine import Engine
from okr_operator.services.kinds import Kind
from okr_operator.services.results import Result
from okr_operator.services.scheduler import phase

# The timeout turns a scheduler that never rests into a failure, not a hang.
pytestmark = [pytest.mark.unit, pytest.mark.timeout(30, method="thread")]

NOW = datetime.now(UTC)
PERIOD = Period(NOW - timedelta(days=45), NOW + timedelta(days=45))
NS = "ns"


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def scalar(value: float) -> Mapping[str, Any]:
    return {"status": "success", "data": {"resultType": "scalar", "result": [0, str(value)]}}


class Querier:
    """Answers every query with ``values[promql]`` (default 150) and records the calls."""

    language = QueryLanguage.PROMQL

    def __init__(self, values: dict[str, Mapping[str, Any]] | None = None) -> None:
        self.values = values or {}
        self.calls: list[tuple[str, datetime]] = []  # (promql, when it was sent)

    async def query(self, promql: str, at: datetime) -> Mapping[str, Any]:
        self.calls.append((promql, datetime.now(UTC)))
        await asyncio.sleep(0.01)  # a real query takes a moment and yields
        return self.values.get(promql, scalar(150))


class Resolver:
    def __init__(self, querier: Querier) -> None:
        self.querier = querier

    async def resolve(self, namespace: str, source: SourceRef | None) -> Querier | Problem:
        return self.querier

    def slot(
        self, namespace: str, source: SourceRef | None
    ) -> contextlib.AbstractAsyncContextManager[object]:
        return contextlib.nullcontext()


@dataclass
class Writer:
    """The API server's status subresources, as far as the engine writes them."""

    statuses: dict[tuple[str, Ref], Any] = field(default_factory=dict)
    writes: list[tuple[str, Ref, datetime, Any]] = field(default_factory=list)

    async def write_key_result(self, ref: Ref, status: KeyResultStatus) -> None:
        self._write("KeyResult", ref, status)

    async def write_objective(self, ref: Ref, status: ObjectiveStatus) -> None:
        self._write("Objective", ref, status)

    async def write_check_in(
        self, ref: Ref, conditions: tuple[Condition, ...], generation: int
    ) -> None:
        self._write("CheckIn", ref, conditions)

    def _write(self, kind: str, ref: Ref, status: object) -> None:
        self.statuses[(kind, ref)] = status
        self.writes.append((kind, ref, datetime.now(UTC), status))

    def of(self, kind: str, name: str) -> list[Any]:
        return [w[3] for w in self.writes if (w[0], w[1].name) == (kind, name)]


class Events:
    def __init__(self) -> None:
        self.posted: list[tuple[str, str, str, str, str]] = []

    async def post(
        self, *, kind: str, ref: Ref, uid: str, type_: str, reason: str, message: str
    ) -> None:
        self.posted.append((kind, ref.name, type_, reason, message))

    def messages(self, reason: str = "HealthChanged") -> list[str]:
        return [f"{k} {n}: {m}" for k, n, _, r, m in self.posted if r == reason]


class Observer:
    """Keeps the latest view of each object, as the metrics exporter would."""

    def __init__(self) -> None:
        self.results: list[Result] = []
        self.key_results: dict[Ref, KeyResultSnapshot] = {}
        self.objectives: dict[Ref, ObjectiveSnapshot] = {}
        self.removed: list[Ref] = []

    def key_result_changed(self, view: KeyResultSnapshot) -> None:
        self.key_results[view.ref] = view

    def key_result_evaluated(
        self, view: KeyResultSnapshot, *, result: Result, seconds: float, lateness: float
    ) -> None:
        self.key_results[view.ref] = view
        self.results.append(result)

    def key_result_removed(self, ref: Ref) -> None:
        self.key_results.pop(ref, None)
        self.removed.append(ref)

    def objective_changed(self, view: ObjectiveSnapshot) -> None:
        self.objectives[view.ref] = view

    def objective_removed(self, ref: Ref) -> None:
        self.objectives.pop(ref, None)
        self.removed.append(ref)

    def status_written(self, kind: Kind) -> None:
        pass


@dataclass
class Bench:
    querier: Querier = field(default_factory=Querier)
    writer: Writer = field(default_factory=Writer)
    events: Events = field(default_factory=Events)
    observer: Observer = field(default_factory=Observer)

    def engine(
        self,
        *,
        status_interval: timedelta = timedelta(hours=1),
        objective_interval: timedelta = timedelta(seconds=0.5),
        listed: bool = True,
    ) -> Engine:
        engine = Engine(
            resolver=Resolver(self.querier),
            writer=self.writer,
            events=self.events,
            observer=self.observer,
            clock=Clock(),
            status_interval=status_interval,
            objective_interval=objective_interval,
        )
        if listed:
            engine.listed()
        return engine


@contextlib.asynccontextmanager
async def running(engine: Engine) -> Any:
    task = asyncio.create_task(engine.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_for(engine: Engine, seconds: float) -> None:
    async with running(engine):
        await asyncio.sleep(seconds)


def goal(name: str = "goal", **spec: Any) -> Objective:
    return Objective(ref=Ref(NS, name), generation=1, title=name, period=PERIOD, **spec)


def kr(name: str, *, objective: str = "goal", query: str = "q", **spec: Any) -> KeyResult:
    base: dict[str, Any] = {"target": 200.0, "baseline": 100.0, "interval": timedelta(seconds=1)}
    return KeyResult(
        ref=Ref(NS, name), generation=1, objective=objective, query=query, **{**base, **spec}
    )


def add_objective(
    engine: Engine, obj: Objective, status: ObjectiveStatus | None = None, uid: str = ""
) -> None:
    engine.upsert_objective(
        obj.ref,
        uid=uid or f"uid-{obj.ref.name}",
        generation=obj.generation,
        spec=obj,
        invalid=None,
        status=status or ObjectiveStatus(),
    )


def add_key_result(
    engine: Engine, spec: KeyResult, status: KeyResultStatus | None = None, uid: str = ""
) -> None:
    engine.upsert_key_result(
        spec.ref,
        uid=uid or f"uid-{spec.ref.name}",
        generation=spec.generation,
        spec=spec,
        invalid=None,
        status=status or KeyResultStatus(),
    )


async def wait_until(probe: Callable[[], object]) -> None:
    async with asyncio.timeout(5):
        while not probe():  # noqa: ASYNC110 - polls what the fakes recorded; nothing to await
            await asyncio.sleep(0.01)


def offset(moment: datetime, interval: timedelta) -> float:
    """Where ``moment`` lies in its interval of the epoch grid, in seconds."""
    return (moment.timestamp() % interval.total_seconds() + interval.total_seconds()) % (
        interval.total_seconds()
    )


def near(a: float, b: float, interval: float, tolerance: float = 0.08) -> bool:
    """``a`` and ``b`` are within ``tolerance`` of each other on a circle of ``interval``."""
    gap = abs(a - b) % interval
    return min(gap, interval - gap) <= tolerance


# ----- cadence ----------------------------------------------------------------


async def test_each_key_result_is_evaluated_once_per_interval_not_more() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    add_key_result(engine, kr("kr", interval=timedelta(seconds=0.3)))
    await run_for(engine, 1.05)
    # At once, then on its grid every 0.3 s: 4 or 5 in 1.05 s depending on its
    # phase; a scheduler that re-runs at once would make hundreds. (Queries of
    # one second are shared, so there may be fewer queries than evaluations.)
    assert len(bench.observer.results) in (4, 5)
    assert set(bench.observer.results) == {Result.SUCCESS}


async def test_evaluations_follow_each_objects_phase() -> None:
    # Objects created together do not stay in step: after the first evaluation
    # (at once) each runs at its own uid-derived offset into the interval.
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    interval = timedelta(seconds=1)
    names = [f"kr-{i}" for i in range(8)]
    for name in names:
        add_key_result(engine, kr(name, query=name, interval=interval))
    await run_for(engine, 2.2)
    for name in names:
        times = [when for promql, when in bench.querier.calls if promql == name]
        assert len(times) >= 2
        expected = phase(f"uid-{name}", interval).total_seconds()
        assert all(near(offset(t, interval), expected, 1.0) for t in times[1:]), name
    offsets = sorted(phase(f"uid-{n}", interval).total_seconds() for n in names)
    assert offsets[-1] - offsets[0] > 0.5  # they really are spread, not bunched


async def test_a_restarted_engine_keeps_the_phase_and_sends_nothing_at_once() -> None:
    interval = timedelta(seconds=1)
    first = Bench()
    engine = first.engine()
    add_objective(engine, goal())
    add_key_result(engine, kr("kr", interval=interval))
    await run_for(engine, 1.5)
    status = first.writer.statuses[("KeyResult", Ref(NS, "kr"))]

    second = Bench()
    engine = second.engine()
    add_objective(engine, goal(), first.writer.statuses[("Objective", Ref(NS, "goal"))])
    started = datetime.now(UTC)
    add_key_result(engine, kr("kr", interval=interval), status)
    await run_for(engine, 1.5)
    assert second.querier.calls, "it resumes"
    sent = second.querier.calls[0][1]
    assert (sent - started).total_seconds() > 0.02 or near(
        offset(sent, interval), phase("uid-kr", interval).total_seconds(), 1.0
    )
    expected = phase("uid-kr", interval).total_seconds()
    assert all(near(offset(t, interval), expected, 1.0) for _, t in second.querier.calls)


async def test_identical_queries_of_one_second_are_sent_once() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    for i in range(10):
        add_key_result(engine, kr(f"same-{i}", query="up", interval=timedelta(hours=1)))
    add_key_result(engine, kr("other", query="down", interval=timedelta(hours=1)))
    await run_for(engine, 0.5)
    # All eleven are new, so all run at once, within the same second.
    assert sorted(promql for promql, _ in bench.querier.calls) == ["down", "up"]
    assert [v.status.value for v in bench.observer.key_results.values()] == [150.0] * 11
    assert engine.flights.shared == 9


async def test_a_deleted_key_result_is_not_evaluated_again() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    add_key_result(engine, kr("kr", interval=timedelta(seconds=0.2)))
    async with running(engine):
        await asyncio.sleep(0.3)
        engine.remove_key_result(Ref(NS, "kr"))
        calls = len(bench.querier.calls)
        await asyncio.sleep(0.5)
    assert len(bench.querier.calls) == calls
    assert bench.observer.removed == [Ref(NS, "kr")]
    assert Ref(NS, "kr") not in bench.observer.key_results


# ----- the write rule -----------------------------------------------------------


async def test_unchanged_status_is_written_once_and_the_transition_posted_once() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    add_key_result(engine, kr("kr", interval=timedelta(seconds=0.2)))
    await run_for(engine, 0.9)
    assert len(bench.observer.results) >= 4
    assert [(s.value, s.progress, s.health) for s in bench.writer.of("KeyResult", "kr")] == [
        (150.0, 0.5, "OnTrack")
    ]
    assert bench.events.messages() == [
        "KeyResult kr: Unknown → OnTrack (progress 0.50, expected 0.50)",
        "Objective goal: Unknown → OnTrack (progress 0.50, expected 0.50)",
    ]


async def test_a_progress_point_is_written_within_an_interval_and_less_is_not() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    add_key_result(engine, kr("kr", interval=timedelta(seconds=1)))
    async with running(engine):
        await wait_until(lambda: bench.writer.of("KeyResult", "kr"))
        bench.querier.values["q"] = scalar(150.4)  # progress 0.504: below one point
        await asyncio.sleep(2.1)
        assert [s.progress for s in bench.writer.of("KeyResult", "kr")] == [0.5]
        changed = datetime.now(UTC)
        bench.querier.values["q"] = scalar(152)  # progress 0.52, health still OnTrack
        await wait_until(lambda: len(bench.writer.of("KeyResult", "kr")) == 2)
        # One interval to the evaluation that sees it, then written at once.
        assert (datetime.now(UTC) - changed).total_seconds() <= 1 + 0.1
        # The objective follows its member's progress though its health does not move.
        await wait_until(lambda: bench.writer.of("Objective", "goal")[-1].progress == 0.52)
        assert (datetime.now(UTC) - changed).total_seconds() <= 1 + 0.5 + 0.1
    assert [(s.progress, s.health) for s in bench.writer.of("KeyResult", "kr")] == [
        (0.5, "OnTrack"),
        (0.52, "OnTrack"),
    ]
    assert [s.health for s in bench.writer.of("Objective", "goal")][-2:] == [Health.ON_TRACK] * 2


async def test_no_object_gets_two_writes_within_one_interval() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    spec = kr("kr", interval=timedelta(seconds=0.5))
    add_key_result(engine, spec)
    async with running(engine):
        await wait_until(lambda: bench.writer.of("KeyResult", "kr"))
        # A spec change right after the first write is evaluated at once, but
        # written only when the interval since the first write has passed.
        changed = replace(spec, generation=2, target=400.0)
        engine.upsert_key_result(
            spec.ref, uid="uid-kr", generation=2, spec=changed, invalid=None,
            status=KeyResultStatus(),
        )  # fmt: skip
        await wait_until(lambda: len(bench.writer.of("KeyResult", "kr")) == 2)
        await asyncio.sleep(0.3)
    writes = [w for w in bench.writer.writes if w[0] == "KeyResult"]
    assert [w[3].observed_generation for w in writes] == [1, 2]
    assert (writes[1][2] - writes[0][2]).total_seconds() >= 0.5 - 0.01
    for kind in ("KeyResult", "Objective"):
        times = [w[2] for w in bench.writer.writes if w[0] == kind]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert all(gap >= 0.5 - 0.01 for gap in gaps), (kind, gaps)


# ----- indexes -------------------------------------------------------------------


async def test_membership_follows_moves_renames_and_deletions() -> None:
    bench = Bench()
    engine = bench.engine()
    for name in ("a", "b"):
        add_objective(engine, goal(name))
    add_key_result(engine, kr("x", objective="a"))
    add_key_result(engine, kr("y", objective="a"))

    def totals() -> dict[str, int]:
        return {
            ref.name: view.status.key_results.get("total", 0)
            for ref, view in bench.observer.objectives.items()
        }

    async with running(engine):
        await wait_until(lambda: totals() == {"a": 2, "b": 0})
        # x moves from a to b: both recount though x's numbers stay the same.
        engine.upsert_key_result(
            Ref(NS, "x"), uid="uid-x", generation=2,
            spec=replace(kr("x", objective="b"), generation=2), invalid=None,
            status=KeyResultStatus(),
        )  # fmt: skip
        await wait_until(lambda: totals() == {"a": 1, "b": 1})
        # y is renamed to z (a new object under a new name, the old one deleted).
        engine.remove_key_result(Ref(NS, "y"))
        add_key_result(engine, kr("z", objective="b"), uid="uid-z")
        await wait_until(lambda: totals() == {"a": 0, "b": 2})
        # b is deleted: its members report it missing, a is unaffected.
        engine.remove_objective(Ref(NS, "b"))
        await wait_until(
            lambda: all(
                bench.observer.key_results[Ref(NS, n)].status.health is Health.UNKNOWN
                for n in ("x", "z")
            )
        )
    snapshot = engine.snapshot()
    assert [o.ref.name for o in snapshot.objectives] == ["a"]
    assert [(k.ref.name, k.period) for k in snapshot.key_results] == [("x", None), ("z", None)]


async def test_children_follow_their_parent_ref() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal("company"))
    add_objective(engine, goal("team", parent=Ref(NS, "company")))
    add_objective(engine, goal("other"))
    add_key_result(engine, kr("kr", objective="team"))

    def children(name: str) -> list[str]:
        view = bench.observer.objectives.get(Ref(NS, name))
        return [c.name for c in view.status.children] if view else []

    async with running(engine):
        await wait_until(lambda: children("company") == ["team"])
        engine.upsert_objective(
            Ref(NS, "team"), uid="uid-team", generation=2,
            spec=replace(goal("team", parent=Ref(NS, "other")), generation=2), invalid=None,
            status=ObjectiveStatus(),
        )  # fmt: skip
        await wait_until(lambda: (children("company"), children("other")) == ([], ["team"]))


# ----- restart -------------------------------------------------------------------


async def test_a_restart_writes_nothing_and_posts_nothing() -> None:
    # Six objectives over three levels and their key results, constant values.
    objectives = [goal("company")] + [
        goal(f"team-{i}", parent=Ref(NS, "company"), rollup=RollupMode.WEAKEST) for i in range(5)
    ]
    key_results = [
        kr(f"kr-{i}", objective=f"team-{i % 5}", query=f"q{i % 3}", interval=timedelta(seconds=0.3))
        for i in range(15)
    ]
    first = Bench()
    engine = first.engine()
    for obj in objectives:
        add_objective(engine, obj)
    for spec in key_results:
        add_key_result(engine, spec)
    await run_for(engine, 2.0)
    assert {s.health for s in first.writer.statuses.values()} == {Health.ON_TRACK}
    stored = dict(first.writer.statuses)  # what the API server holds now

    second = Bench()
    engine = second.engine(listed=False)
    async with running(engine):
        # The watches deliver the objectives first and the key results a
        # moment later, as kopf's listings of two kinds do.
        for obj in objectives:
            add_objective(engine, obj, stored[("Objective", obj.ref)])
        await asyncio.sleep(0.6)  # longer than the objective interval
        for spec in key_results:
            add_key_result(engine, spec, stored[("KeyResult", spec.ref)])
        engine.listed()
        await asyncio.sleep(1.5)
    assert second.querier.calls, "evaluations went on"
    assert second.writer.writes == []
    assert second.events.posted == []
    # Everything was in /metrics from the start, without an evaluation.
    assert len(second.observer.objectives) == 6
    assert len(second.observer.key_results) == 15


# ----- Events --------------------------------------------------------------------


async def test_evaluation_failed_is_posted_when_ready_goes_false_and_when_the_reason_changes() -> (
    None
):
    error = {"status": "error", "errorType": "bad_data", "error": "parse error"}
    two = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"a": "1"}, "value": [0, "1"]},
                {"metric": {"a": "2"}, "value": [0, "2"]},
            ],
        },
    }
    bench = Bench(querier=Querier({"q": error}))
    engine = bench.engine()
    add_objective(engine, goal())
    add_key_result(engine, kr("kr", interval=timedelta(seconds=0.2)))
    async with running(engine):
        await wait_until(lambda: len(bench.querier.calls) >= 3)
        bench.querier.values["q"] = two
        await wait_until(lambda: bench.observer.results[-1] is Result.AMBIGUOUS_RESULT)
        await wait_until(lambda: len(bench.querier.calls) >= 7)
        bench.querier.values["q"] = scalar(150)
        await wait_until(lambda: bench.observer.results[-1] is Result.SUCCESS)
        await asyncio.sleep(0.3)
    failed = [e for e in bench.events.posted if e[3] == "EvaluationFailed"]
    assert [(kind, name, type_) for kind, name, type_, _, _ in failed] == [
        ("KeyResult", "kr", "Warning")
    ] * 2
    assert failed[0][4].startswith("QueryFailed: ")
    assert failed[1][4].startswith("AmbiguousResult: ")


# ----- commitment and carry-over -------------------------------------------------

ENDED = Period(NOW - timedelta(days=100), NOW - timedelta(days=10))


async def test_a_committed_miss_posts_committed_missed_and_an_aspirational_miss_does_not() -> None:
    # Value 150 between baseline 100 and target 200: grade 0.5 at the end of the period.
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, replace(goal(), period=ENDED))
    add_objective(
        engine, replace(goal("stretch"), period=ENDED, commitment=Commitment.ASPIRATIONAL)
    )
    add_key_result(engine, kr("promise"))
    add_key_result(engine, kr("moonshot", objective="stretch"))
    add_key_result(engine, kr("pinned", objective="stretch", commitment=Commitment.COMMITTED))
    async with running(engine):
        await wait_until(lambda: len(bench.events.messages("CommittedMissed")) >= 2)
        await asyncio.sleep(0.3)
    message = "committed key result missed (graded 0.50 of 1.00): a postmortem is due"
    assert sorted(bench.events.messages("CommittedMissed")) == [
        f"KeyResult pinned: {message}",
        f"KeyResult promise: {message}",
    ]
    assert {p[2] for p in bench.events.posted if p[3] == "CommittedMissed"} == {"Warning"}
    moonshot = bench.writer.of("KeyResult", "moonshot")[-1]
    assert (moonshot.commitment, moonshot.health) == (Commitment.ASPIRATIONAL, Health.MISSED)


async def test_carried_from_shows_the_earlier_key_results_grade() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    earlier = kr("deploys-q3", period=ENDED)
    add_key_result(engine, earlier, KeyResultStatus(grade=0.8, observed_generation=1))
    add_key_result(engine, kr("deploys", carried_from=Ref(NS, "deploys-q3")))
    async with running(engine):
        await wait_until(lambda: bench.writer.of("KeyResult", "deploys"))
    status = bench.writer.of("KeyResult", "deploys")[-1]
    assert status.carried_from == CarriedFrom(NS, "deploys-q3", 0.8)
