"""objective_status: rollup of key results and child objectives (issue 3 Semantics, Objective)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

import pytest

from okr_operator.domain.model import (
    CheckIn,
    ChildRef,
    Condition,
    ConditionStatus,
    ConditionType,
    Health,
    Objective,
    ObjectiveStatus,
    Problem,
    Reason,
    RollupMode,
)
from okr_operator.domain.rollup import Member, objective_status, weighted_progress

from .helpers import NS, Q4, ref, utc

pytestmark = pytest.mark.unit

H = Health
TRUE, FALSE, UNKNOWN = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN
NOW = utc(2026, 11, 23, 10)
EARLIER = utc(2026, 11, 20)
AFTER = utc(2027, 1, 5)
EXPECTED_NOW = (53 * 24 + 10) / (92 * 24)  # about 0.58

SHIP = Objective(ref=ref("ship-faster"), generation=4, title="Ship faster, safely", period=Q4)


def kr(name: str, progress: float | None, health: Health | None, weight: float = 1.0) -> Member:
    return Member(kind="KeyResult", ref=ref(name), weight=weight, progress=progress, health=health)


def child(name: str, progress: float | None, health: Health | None, namespace: str = NS) -> Member:
    return Member(
        kind="Objective", ref=ref(name, namespace), weight=1.0, progress=progress, health=health
    )


def conds(
    ready: tuple[ConditionStatus, str, str],
    data: tuple[ConditionStatus, str, str],
    *,
    since: datetime = NOW,
    generation: int = 4,
    stalled: bool = False,
) -> tuple[Condition, ...]:
    """Ready, DataAvailable and, when ``stalled``, Stalled=True mirroring Ready."""
    mirrored = (Condition(ConditionType.STALLED, TRUE, *ready[1:], since, generation),)
    return (
        Condition(ConditionType.READY, *ready, since, generation),
        Condition(ConditionType.DATA_AVAILABLE, *data, since, generation),
        *(mirrored if stalled else ()),
    )


def roll(
    obj: Objective = SHIP,
    previous: ObjectiveStatus | None = None,
    *,
    key_results: tuple[Member, ...] = (),
    children: tuple[Member, ...] = (),
    problem: Problem | None = None,
    now: datetime = NOW,
) -> ObjectiveStatus:
    return objective_status(
        obj,
        previous or ObjectiveStatus(),
        key_results=key_results,
        children=children,
        problem=problem,
        now=now,
    )


def test_weighted_average_of_key_results_and_children() -> None:
    status = roll(
        key_results=(kr("lead-time", 0.5, H.AT_RISK), kr("cfr", 0.75, H.ON_TRACK, weight=3.0)),
        children=(
            child("platform", None, H.UNKNOWN, namespace="platform"),
            child("api", None, None),
        ),
    )
    # (1 * 0.5 + 3 * 0.75) / 4; the children have no progress and count for nothing.
    assert status == ObjectiveStatus(
        observed_generation=4,
        progress=0.6875,
        expected_progress=EXPECTED_NOW,
        health=H.ON_TRACK,
        last_evaluation_time=NOW,
        grade=None,
        key_results=MappingProxyType({"total": 2, "OnTrack": 1, "AtRisk": 1}),
        children=(
            ChildRef(namespace="platform", name="platform", progress=None, health=H.UNKNOWN),
            ChildRef(namespace=NS, name="api", progress=None, health=H.UNKNOWN),
        ),
        history=(CheckIn(time=NOW, progress=0.6875, health=H.ON_TRACK),),
        conditions=conds(
            (TRUE, "Evaluated", "rolled up 4 members: progress 0.69"),
            (TRUE, "DataReceived", "progress known for 2 of 4 members"),
        ),
    )


@pytest.mark.parametrize(
    ("progress", "health"),
    [
        pytest.param(1.0, H.ACHIEVED, id="achieved when every member is done"),
        pytest.param(0.5, H.ON_TRACK, id="on track within the default at-risk lag"),
        pytest.param(0.4, H.AT_RISK, id="at risk beyond it"),
        pytest.param(0.25, H.OFF_TRACK, id="off track beyond the default off-track lag"),
    ],
)
def test_weighted_average_health_uses_the_default_lags(progress: float, health: Health) -> None:
    status = roll(key_results=(kr("a", progress, H.ON_TRACK), kr("b", progress, H.ON_TRACK)))
    assert (status.progress, status.health) == (progress, health)


def test_weight_zero_members_count_for_nothing() -> None:
    status = roll(key_results=(kr("a", 0.5, H.ON_TRACK), kr("b", 0.0, H.OFF_TRACK, weight=0.0)))
    assert (status.progress, status.health) == (0.5, H.ON_TRACK)


def test_only_weight_zero_members_with_progress_is_no_data() -> None:
    status = roll(key_results=(kr("a", 0.5, H.ON_TRACK, weight=0.0), kr("b", None, H.UNKNOWN)))
    assert (status.progress, status.health, status.conditions) == (
        None,
        H.UNKNOWN,
        conds(
            (TRUE, "Evaluated", "rolled up 2 members"),
            (FALSE, "NoData", "only members of weight 0 have progress (1 of 2)"),
        ),
    )


@pytest.mark.parametrize(
    ("members", "health"),
    [
        pytest.param(
            (kr("a", 1.0, H.ACHIEVED), kr("b", 0.6, H.ON_TRACK), kr("c", 0.1, H.AT_RISK)),
            H.AT_RISK,
            id="the worst member health",
        ),
        pytest.param(
            (kr("a", 1.0, H.ACHIEVED), kr("b", None, H.UNKNOWN)),
            H.ACHIEVED,
            id="unknown members are ignored",
        ),
        pytest.param(
            (kr("a", 0.9, H.ON_TRACK), kr("b", 0.0, H.OFF_TRACK, weight=0.0)),
            H.ON_TRACK,
            id="weight zero members are ignored",
        ),
        pytest.param(
            (kr("a", None, H.UNKNOWN), kr("b", None, None)),
            H.UNKNOWN,
            id="unknown when every member is",
        ),
    ],
)
def test_weakest_rollup_takes_the_worst_member(members: tuple[Member, ...], health: Health) -> None:
    weakest = replace(SHIP, rollup=RollupMode.WEAKEST)
    assert roll(weakest, key_results=members).health is health


def test_before_the_period_it_is_pending() -> None:
    now = utc(2026, 9, 1)
    starts = "period starts at 2026-10-01T00:00:00Z"
    status = roll(key_results=(kr("a", None, H.PENDING),), now=now)
    assert status == ObjectiveStatus(
        observed_generation=4,
        progress=None,
        expected_progress=0.0,
        health=H.PENDING,
        last_evaluation_time=now,
        key_results=MappingProxyType({"total": 1, "Pending": 1}),
        conditions=conds(
            (TRUE, "PeriodNotStarted", starts), (UNKNOWN, "PeriodNotStarted", starts), since=now
        ),
    )


@pytest.mark.parametrize(
    ("progresses", "health", "grade"),
    [
        pytest.param((1.0, 1.0), H.ACHIEVED, 1.0, id="achieved when the rolled progress is 1"),
        pytest.param((1.0, 0.5), H.MISSED, 0.75, id="missed otherwise, with a grade"),
    ],
)
def test_after_the_end_it_is_graded(
    progresses: tuple[float, float], health: Health, grade: float
) -> None:
    previous = ObjectiveStatus(
        history=(CheckIn(time=utc(2026, 12, 30), progress=0.7, health=H.ON_TRACK),)
    )
    members = tuple(
        kr(f"kr{i}", p, H.ACHIEVED if p == 1 else H.MISSED) for i, p in enumerate(progresses)
    )
    status = roll(previous=previous, key_results=members, now=AFTER)
    ended = f"period ended at 2027-01-01T00:00:00Z; rolled up 2 members: progress {grade:.2f}"
    assert status == ObjectiveStatus(
        observed_generation=4,
        progress=grade,
        expected_progress=1.0,
        health=health,
        last_evaluation_time=AFTER,
        grade=grade,
        key_results=MappingProxyType(
            {"total": 2, **({"Achieved": 2} if grade == 1 else {"Achieved": 1, "Missed": 1})}
        ),
        # The final point sits at the period end, not at the late evaluation.
        history=(*previous.history, CheckIn(time=Q4.end, progress=grade, health=health)),
        conditions=conds(
            (TRUE, "PeriodEnded", ended),
            (TRUE, "DataReceived", "progress known for 2 of 2 members"),
            since=AFTER,
        ),
    )


def test_no_members() -> None:
    status = roll()
    assert status == ObjectiveStatus(
        observed_generation=4,
        progress=None,
        expected_progress=EXPECTED_NOW,
        health=H.UNKNOWN,
        last_evaluation_time=NOW,
        key_results=MappingProxyType({"total": 0}),
        conditions=conds(
            (TRUE, "Evaluated", "rolled up 0 members"),
            (FALSE, "NoMembers", "no key results and no child objectives"),
        ),
    )


def test_members_without_progress_are_no_data() -> None:
    status = roll(key_results=(kr("a", None, H.UNKNOWN),), children=(child("b", None, None),))
    assert (status.progress, status.health, status.history, status.conditions) == (
        None,
        H.UNKNOWN,
        (),
        conds(
            (TRUE, "Evaluated", "rolled up 2 members"),
            (FALSE, "NoData", "none of 2 members has progress yet"),
        ),
    )


@pytest.mark.parametrize(
    ("problem", "stalled"),
    [
        pytest.param(
            Problem(Reason.REFERENCE_NOT_FOUND, "parent Objective company/grow not found"),
            False,
            id="a missing parent (it may yet be created)",
        ),
        pytest.param(
            Problem(Reason.CYCLE_DETECTED, "team-a/x → team-a/y → team-a/x"),
            True,
            id="a cycle of parents, stalled",
        ),
    ],
)
def test_a_problem_is_not_ready_but_members_still_roll_up(problem: Problem, stalled: bool) -> None:
    status = roll(key_results=(kr("a", 0.6, H.ON_TRACK),), problem=problem)
    assert (status.progress, status.health, status.conditions) == (
        0.6,
        H.ON_TRACK,
        conds(
            (FALSE, str(problem.reason), problem.message),
            (TRUE, "DataReceived", "progress known for 1 of 1 member"),
            stalled=stalled,
        ),
    )


def test_condition_times_and_history_carry_over() -> None:
    previous = roll(key_results=(kr("a", 0.6, H.ON_TRACK),), now=EARLIER)
    status = roll(previous=previous, key_results=(kr("a", 0.7, H.ON_TRACK),))
    assert (status.history, [c.last_transition_time for c in status.conditions]) == (
        (
            CheckIn(time=EARLIER, progress=0.6, health=H.ON_TRACK),
            CheckIn(time=NOW, progress=0.7, health=H.ON_TRACK),
        ),
        [EARLIER, EARLIER],
    )


def test_key_results_count_every_health_and_none_as_unknown() -> None:
    members = (
        kr("a", 0.5, H.ON_TRACK),
        kr("b", 0.5, H.ON_TRACK),
        kr("c", None, None),
        kr("d", None, H.UNKNOWN),
        kr("e", 0.0, H.OFF_TRACK),
    )
    assert roll(key_results=members).key_results == {
        "total": 5,
        "OnTrack": 2,
        "OffTrack": 1,
        "Unknown": 2,
    }


def test_children_are_listed_sorted_and_only_children() -> None:
    status = roll(
        key_results=(kr("a", 0.5, H.ON_TRACK),),
        children=(
            child("z", 0.2, H.OFF_TRACK),
            child("b", 0.9, H.ON_TRACK),
            child("m", 0.5, H.AT_RISK, "alpha"),
        ),
    )
    assert status.children == (
        ChildRef(namespace="alpha", name="m", progress=0.5, health=H.AT_RISK),
        ChildRef(namespace=NS, name="b", progress=0.9, health=H.ON_TRACK),
        ChildRef(namespace=NS, name="z", progress=0.2, health=H.OFF_TRACK),
    )


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        pytest.param((), None, id="nothing is unknown"),
        pytest.param((kr("a", None, None),), None, id="no progress is unknown"),
        pytest.param(
            (kr("a", 0.2, None), kr("b", 0.4, None)), 0.30000000000000004, id="equal weights"
        ),
        pytest.param((kr("a", 1.0, None, weight=3.0), kr("b", 0.0, None)), 0.75, id="weights"),
    ],
)
def test_weighted_progress(members: tuple[Member, ...], expected: float | None) -> None:
    assert weighted_progress(members) == expected
