"""Check-ins: the pure rules (latest, ties, cadence, drops, the CheckIn's condition),
and the engine taking them in (status.checkIn, manual key results, Events).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from okr_operator.api.spec import SpecError, parse_check_in, validate_document
from okr_operator.cli.checkin import check_in_manifest
from okr_operator.domain.checkins import (
    apply_check_ins,
    check_in_condition,
    confidence_drop,
    dropped_from,
    is_due,
    latest,
    summary,
    value_at,
)
from okr_operator.domain.model import (
    CheckIn,
    ConditionStatus,
    Health,
    KeyResult,
    KeyResultStatus,
    OwnerCheckIn,
    Period,
    Problem,
    Reason,
    Ref,
)
from okr_operator.services.engine import Engine
from okr_operator.services.evaluate import evaluate_key_result
from tests.unit.test_engine import (
    NS,
    Bench,
    add_key_result,
    add_objective,
    goal,
    kr,
    running,
    wait_until,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30, method="thread")]

T0 = datetime(2026, 10, 5, 9, tzinfo=UTC)
QUARTER = Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
# A manual key result is never queried: its querier is the Problem a measured one would get.
NO_QUERIER = Problem(Reason.QUERY_FAILED, "no source: a manual key result is not queried")


def check_in(
    name: str,
    time: datetime,
    confidence: float = 0.8,
    value: float | None = None,
    key_result: str = "kr",
    **extra: object,
) -> OwnerCheckIn:
    return OwnerCheckIn(
        ref=Ref(NS, name),
        key_result=key_result,
        time=time,
        confidence=confidence,
        value=value,
        **extra,  # type: ignore[arg-type]
    )


# ----- pure rules ---------------------------------------------------------------


def test_the_latest_check_in_is_the_newest_by_time() -> None:
    week1 = check_in("week-1", T0)
    week2 = check_in("a-week-2", T0 + timedelta(days=7))
    assert latest([week2, week1]) == week2
    assert latest([week1, week2], at=T0 + timedelta(days=1)) == week1
    assert latest([week1, week2], at=T0 - timedelta(seconds=1)) is None


@given(st.permutations(["a", "b", "c", "z"]))
def test_of_two_check_ins_with_the_same_time_the_later_by_name_wins_in_any_order(
    names: list[str],
) -> None:
    items = [check_in(name, T0, confidence=0.1 * i) for i, name in enumerate(names)]
    winner = latest(items)
    assert winner is not None
    assert winner.ref.name == "z"


def test_a_manual_value_is_the_latest_check_in_that_has_one() -> None:
    items = [
        check_in("w1", T0, value=10),
        check_in("w2", T0 + timedelta(days=7), value=None),  # confidence only
        check_in("w3", T0 + timedelta(days=14), value=30),
    ]
    found = value_at(items, T0 + timedelta(days=8))
    assert found is not None
    assert found.value == 10
    found = value_at(items, T0 + timedelta(days=15))
    assert found is not None
    assert found.value == 30


@pytest.mark.parametrize(
    ("last", "now", "due"),
    [
        pytest.param(None, QUARTER.start + timedelta(days=6), False, id="never, within a week"),
        pytest.param(None, QUARTER.start + timedelta(days=7), True, id="never, a week in"),
        pytest.param(T0, T0 + timedelta(days=6, hours=23), False, id="checked in 6d23h ago"),
        pytest.param(T0, T0 + timedelta(days=7), True, id="checked in a week ago"),
        pytest.param(T0, QUARTER.end + timedelta(days=30), False, id="after the period"),
    ],
)
def test_a_check_in_is_due_once_the_last_is_every_old(
    last: datetime | None, now: datetime, due: bool
) -> None:
    assert is_due(last, every=timedelta(weeks=1), period=QUARTER, now=now) is due


def test_without_a_cadence_nothing_is_due() -> None:
    assert is_due(None, every=None, period=QUARTER, now=T0) is None


@pytest.mark.parametrize(
    ("before", "after", "drop"),
    [
        pytest.param(0.8, 0.6, 0.2, id="0.2 is a drop"),
        pytest.param(0.8, 0.61, None, id="0.19 is not"),
        pytest.param(0.5, 0.9, None, id="a rise is not"),
        pytest.param(0.9, 0.1, 0.8, id="a fall to 0.1"),
    ],
)
def test_a_confidence_drop_of_0_2_or_more_counts(
    before: float, after: float, drop: float | None
) -> None:
    old = summary(check_in("w1", T0, confidence=before))
    new = summary(check_in("w2", T0 + timedelta(days=7), confidence=after))
    found = confidence_drop(old, new)
    assert found == pytest.approx(drop) if drop is not None else found is None


def test_the_same_check_in_read_back_is_no_drop() -> None:
    same = summary(check_in("w1", T0, confidence=0.9))
    assert confidence_drop(same, same) is None


def test_history_points_carry_the_confidence_in_force_that_day() -> None:
    status = KeyResultStatus(
        history=(
            CheckIn(time=T0 - timedelta(days=1), progress=0.1, health=Health.ON_TRACK),
            CheckIn(time=T0 + timedelta(days=1), progress=0.2, health=Health.ON_TRACK),
            CheckIn(time=T0 + timedelta(days=8), progress=0.3, health=Health.AT_RISK),
        )
    )
    items = [check_in("w1", T0, 0.9), check_in("w2", T0 + timedelta(days=7), 0.5)]
    applied = apply_check_ins(
        status, items, every=timedelta(weeks=1), period=QUARTER, now=T0 + timedelta(days=8)
    )
    assert [p.confidence for p in applied.history] == [None, 0.9, 0.5]
    assert applied.check_in == summary(items[1])
    assert applied.check_in_due is False


def test_a_check_in_naming_no_key_result_is_not_ready() -> None:
    status, reason, message = check_in_condition(check_in("w1", T0), None, known=False)
    assert (status, reason) == (ConditionStatus.FALSE, "ReferenceNotFound")
    assert message == "KeyResult ns/kr (spec.keyResultRef) not found"


def test_a_value_for_a_measured_key_result_is_ignored_and_said_so() -> None:
    measured = kr("kr")
    status, reason, message = check_in_condition(check_in("w1", T0, value=3), measured, known=True)
    assert (status, reason) == (ConditionStatus.TRUE, "ValueIgnored")
    assert "spec.value is ignored" in message
    manual = replace(measured, query="", manual=True)
    assert check_in_condition(check_in("w1", T0, value=3), manual, known=True)[1] == "Recorded"


# ----- parsing ------------------------------------------------------------------


def body(spec: dict[str, object], **metadata: object) -> dict[str, object]:
    return {
        "apiVersion": "okr.dev/v1alpha1",
        "kind": "CheckIn",
        "metadata": {"name": "w1", "namespace": NS, **metadata},
        "spec": spec,
    }


def test_a_check_in_without_a_time_is_at_its_creation() -> None:
    parsed = parse_check_in(
        body(
            {"keyResultRef": {"name": "kr"}, "confidence": 0.7, "blockers": ["migration"]},
            creationTimestamp="2026-10-05T09:00:00Z",
        )
    )
    assert parsed.time == T0
    assert parsed.blockers == ("migration",)


def test_confidence_outside_0_to_1_and_a_long_note_are_refused() -> None:
    with pytest.raises(SpecError) as caught:
        parse_check_in(
            body(
                {"keyResultRef": {"name": "kr"}, "confidence": 1.2, "note": "x" * 4097},
                creationTimestamp="2026-10-05T09:00:00Z",
            )
        )
    assert [field for field, _ in caught.value.problems] == ["spec.confidence", "spec.note"]


def test_okr_validate_accepts_a_check_in_file_without_a_creation_time() -> None:
    assert validate_document(body({"keyResultRef": {"name": "kr"}, "confidence": 0.7})) == []


# ----- the engine ---------------------------------------------------------------


def add_check_in(engine: Engine, item: OwnerCheckIn, generation: int = 1) -> None:
    engine.upsert_check_in(
        item.ref,
        uid=f"uid-{item.ref.name}",
        generation=generation,
        spec=item,
        invalid=None,
        conditions=(),
    )


def manual(name: str = "kr", **spec: object) -> KeyResult:
    return kr(name, query="", manual=True, **spec)


def now() -> datetime:
    return datetime.now(UTC)


async def test_a_check_in_shows_in_the_key_results_status() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    add_key_result(engine, kr("kr"))
    async with running(engine):
        add_check_in(
            engine,
            check_in(
                "w1", now() - timedelta(minutes=1), 0.7, note="migration blocks us", author="ana"
            ),
        )
        await wait_until(lambda: engine.snapshot().key_results[0].status.check_in is not None)
        status = engine.snapshot().key_results[0].status
        assert status.check_in is not None
        assert (status.check_in.name, status.check_in.confidence) == ("w1", 0.7)
        assert status.check_in.note == "migration blocks us"
        assert status.history[-1].confidence == 0.7
        await wait_until(lambda: bench.writer.of("CheckIn", "w1"))
        ready = bench.writer.of("CheckIn", "w1")[-1][0]
        assert (ready.status, ready.reason) == ("True", "Recorded")


async def test_a_manual_key_result_is_measured_by_its_check_ins_and_rolls_up() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    add_key_result(engine, manual(baseline=0.0, target=100.0))
    async with running(engine):
        await wait_until(lambda: engine.snapshot().key_results[0].status.health is Health.UNKNOWN)
        assert bench.querier.calls == []
        add_check_in(engine, check_in("w1", now() - timedelta(hours=1), 0.8, value=60.0))
        await wait_until(lambda: engine.snapshot().key_results[0].status.value == 60.0)
        await wait_until(lambda: engine.snapshot().objectives[0].status.progress == 0.6)
    status = engine.snapshot().key_results[0].status
    assert status.progress == 0.6
    assert bench.querier.calls == []  # no query, ever


async def test_a_manual_key_result_first_seen_after_its_check_ins_has_their_history() -> None:
    # Seen first on 5 November, with values reported on 10 and 20 October and 1 November:
    # each reported day gets the point an evaluation then would have made (progress from
    # the baseline, health against the share of the quarter elapsed then), plus today's.
    reported = [
        check_in("oct-10", datetime(2026, 10, 10, 9, tzinfo=UTC), value=20.0),
        check_in("oct-20", datetime(2026, 10, 20, 9, tzinfo=UTC), value=30.0),
        check_in("nov-01", datetime(2026, 11, 1, 9, tzinfo=UTC), value=50.0),
        check_in("later", datetime(2026, 11, 6, 9, tzinfo=UTC), value=99.0),  # not yet
    ]
    spec = manual(baseline=0.0, target=100.0, period=QUARTER)
    at = datetime(2026, 11, 5, 9, tzinfo=UTC)
    outcome = await evaluate_key_result(
        spec, QUARTER, KeyResultStatus(), querier=NO_QUERIER, now=at, check_ins=reported
    )
    assert [(p.time, p.value, p.progress, p.health) for p in outcome.status.history] == [
        (datetime(2026, 10, 10, 9, tzinfo=UTC), 20.0, 0.2, Health.ON_TRACK),
        (datetime(2026, 10, 20, 9, tzinfo=UTC), 30.0, 0.3, Health.ON_TRACK),
        (datetime(2026, 11, 1, 9, tzinfo=UTC), 50.0, 0.5, Health.ON_TRACK),
        (at, 50.0, 0.5, Health.ON_TRACK),
    ]
    # Evaluated again the same day: nothing new, the history is left as it is.
    again = await evaluate_key_result(
        spec, QUARTER, outcome.status, querier=NO_QUERIER, now=at, check_ins=reported
    )
    assert again.status.history == outcome.status.history


async def test_a_confidence_drop_posts_confidence_dropped_once() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    add_key_result(engine, kr("kr"))
    async with running(engine):
        add_check_in(engine, check_in("w1", now() - timedelta(days=7), 0.9))
        await wait_until(lambda: engine.snapshot().key_results[0].status.check_in is not None)
        add_check_in(engine, check_in("w2", now() - timedelta(hours=1), 0.6, note="vendor late"))
        await wait_until(lambda: bench.events.messages("ConfidenceDropped"))
    assert bench.events.messages("ConfidenceDropped") == [
        "KeyResult kr: confidence dropped from 0.90 to 0.60 (CheckIn w2): vendor late"
    ]


async def test_a_check_in_for_a_missing_key_result_says_so_and_recovers() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    async with running(engine):
        add_check_in(engine, check_in("w1", now(), key_result="nope"))
        await wait_until(lambda: bench.writer.of("CheckIn", "w1"))
        ready = bench.writer.of("CheckIn", "w1")[-1][0]
        assert (ready.status, ready.reason) == ("False", "ReferenceNotFound")
        assert ready.message == f"KeyResult {NS}/nope (spec.keyResultRef) not found"
        add_key_result(engine, kr("nope"))
        await wait_until(lambda: bench.writer.of("CheckIn", "w1")[-1][0].reason == "Recorded")


async def test_a_key_result_due_for_a_check_in_says_so() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    add_key_result(engine, kr("kr", check_in_every=timedelta(hours=1)))
    async with running(engine):
        await wait_until(lambda: engine.snapshot().key_results[0].status.check_in_due is True)
        add_check_in(engine, check_in("w1", now()))
        await wait_until(lambda: engine.snapshot().key_results[0].status.check_in_due is False)


async def test_a_restart_reads_check_ins_back_and_writes_nothing() -> None:
    bench = Bench()
    engine = bench.engine()
    add_objective(engine, goal())
    add_key_result(engine, kr("kr"))
    item = check_in("w1", now() - timedelta(minutes=1), 0.7)
    async with running(engine):
        add_check_in(engine, item)
        await wait_until(lambda: bench.writer.of("CheckIn", "w1"))
        await wait_until(lambda: engine.snapshot().key_results[0].status.check_in is not None)
    written = bench.writer.of("CheckIn", "w1")[-1]
    status = engine.snapshot().key_results[0].status

    again = Bench()
    restarted = again.engine()
    add_objective(restarted, goal())
    add_key_result(restarted, kr("kr"), status=status)
    restarted.upsert_check_in(
        item.ref, uid="uid-w1", generation=1, spec=item, invalid=None, conditions=written
    )
    async with running(restarted):
        # Its key result is evaluated on its own grid: the check-in in status stays.
        await wait_until(lambda: again.observer.results)
    assert again.writer.of("CheckIn", "w1") == []
    assert again.events.messages("ConfidenceDropped") == []
    assert restarted.snapshot().key_results[0].status.check_in == status.check_in


# ----- kubectl okr check-in ------------------------------------------------------


def test_check_in_dry_run_prints_the_manifest_without_a_cluster(tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "okr_operator", "check-in", "nps", "-n", "growth",
         "--confidence", "0.7", "--note", "on track", "--value", "42", "--blocker", "vendor",
         "--author", "ana", "--name", "nps-week-47", "--dry-run", "-o", "yaml"],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "KUBECONFIG": str(tmp_path / "none")},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert yaml.safe_load(ran.stdout) == {
        "apiVersion": "okr.dev/v1alpha1",
        "kind": "CheckIn",
        "metadata": {"name": "nps-week-47", "namespace": "growth"},
        "spec": {
            "keyResultRef": {"name": "nps"},
            "confidence": 0.7,
            "note": "on track",
            "blockers": ["vendor"],
            "author": "ana",
            "value": 42.0,
        },
    }


def test_check_in_refuses_a_confidence_outside_0_to_1_before_any_request(tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "okr_operator", "check-in", "nps", "-n", "growth",
         "--confidence", "1.2", "--name", "x", "--dry-run"],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "KUBECONFIG": str(tmp_path / "none")},
    )  # fmt: skip
    assert ran.returncode == 1
    assert ran.stderr.strip() == (
        "okr check-in: CheckIn growth/x: spec.confidence: input should be less than or equal to 1"
    )


def test_the_default_name_is_the_key_result_and_the_time() -> None:
    made = check_in_manifest(
        key_result="nps", namespace="growth", confidence=0.5, now=T0, author=""
    )
    assert made["metadata"]["name"] == "nps-20261005-090000"
    assert "author" not in made["spec"]


async def test_two_check_ins_arriving_together_are_compared_too() -> None:
    bench = Bench()
    engine = bench.engine(listed=False)  # both arrive before the first evaluation
    add_objective(engine, goal())
    add_key_result(engine, kr("kr"))
    add_check_in(engine, check_in("w1", now() - timedelta(days=7), 0.8))
    add_check_in(engine, check_in("w2", now() - timedelta(hours=1), 0.5))
    engine.listed()
    async with running(engine):
        await wait_until(lambda: bench.events.messages("ConfidenceDropped"))
    assert bench.events.messages("ConfidenceDropped") == [
        "KeyResult kr: confidence dropped from 0.80 to 0.50 (CheckIn w2)"
    ]


def test_falling_back_to_an_older_check_in_is_no_drop() -> None:
    older = check_in("w1", T0, 0.9)
    oldest = check_in("w0", T0 - timedelta(days=7), 0.95)
    newer = summary(check_in("w2", T0 + timedelta(days=7), 0.3))
    # w2 was deleted: status falls back from w2 to w1, which is no news.
    assert dropped_from(newer, summary(older), [oldest, older]) is None
    # w1 after w0 when status showed nothing yet: 0.05 is no drop either.
    assert dropped_from(None, summary(older), [oldest, older]) is None
    # A new w2 after w1: the drop is measured from w1.
    assert dropped_from(summary(older), newer, [oldest, older]) == summary(older)
