from __future__ import annotations

from datetime import datetime
from typing import cast

import pytest

from okr_operator.domain.conditions import (
    get_condition,
    set_condition,
    set_conditions,
    significant_change,
)
from okr_operator.domain.model import Condition, ConditionStatus, ConditionType

from .helpers import utc

pytestmark = pytest.mark.unit

READY, DATA = ConditionType.READY, ConditionType.DATA_AVAILABLE
TRUE, FALSE, UNKNOWN = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN
T0, T1 = utc(2026, 11, 1), utc(2026, 11, 2)


def cond(
    type_: ConditionType,
    status: ConditionStatus,
    reason: str,
    message: str = "m",
    /,
    *,
    at: datetime = T0,
    gen: int = 1,
) -> Condition:
    return Condition(type_, status, reason, message, at, gen)


def test_set_condition_adds_a_missing_condition() -> None:
    result = set_condition(
        (), type=READY, status=TRUE, reason="Evaluated", message="ok", now=T1, generation=2
    )
    assert result == (cond(READY, TRUE, "Evaluated", "ok", at=T1, gen=2),)


def test_set_condition_keeps_the_transition_time_while_the_status_holds() -> None:
    before = (cond(READY, TRUE, "Evaluated", "old", at=T0, gen=1),)
    result = set_condition(
        before, type=READY, status=TRUE, reason="PeriodEnded", message="new", now=T1, generation=2
    )
    assert result == (cond(READY, TRUE, "PeriodEnded", "new", at=T0, gen=2),)


def test_set_condition_moves_the_transition_time_when_the_status_changes() -> None:
    before = (cond(READY, TRUE, "Evaluated", "old", at=T0, gen=1),)
    result = set_condition(
        before, type=READY, status=FALSE, reason="QueryFailed", message="boom", now=T1, generation=1
    )
    assert result == (cond(READY, FALSE, "QueryFailed", "boom", at=T1, gen=1),)


def test_set_condition_orders_ready_then_data_available_then_others() -> None:
    other = cond(cast(ConditionType, "Alerting"), TRUE, "Firing")
    before = (other, cond(DATA, TRUE, "DataReceived"))
    result = set_condition(
        before, type=READY, status=TRUE, reason="Evaluated", message="m", now=T0, generation=1
    )
    assert result == (cond(READY, TRUE, "Evaluated"), cond(DATA, TRUE, "DataReceived"), other)


def test_set_conditions_applies_each_update() -> None:
    before = (
        cond(READY, TRUE, "Evaluated", "m", at=T0, gen=1),
        cond(DATA, TRUE, "DataReceived", "m", at=T0, gen=1),
    )
    result = set_conditions(
        before,
        {READY: (TRUE, "Evaluated", "fine"), DATA: (FALSE, "NoData", "query returned no series")},
        now=T1,
        generation=3,
    )
    assert result == (
        cond(READY, TRUE, "Evaluated", "fine", at=T0, gen=3),
        cond(DATA, FALSE, "NoData", "query returned no series", at=T1, gen=3),
    )


def test_get_condition() -> None:
    ready = cond(READY, TRUE, "Evaluated")
    assert (get_condition((ready,), READY), get_condition((ready,), DATA)) == (ready, None)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param([], [], False, id="nothing is no change"),
        pytest.param([], [cond(READY, TRUE, "Evaluated")], True, id="a new condition"),
        pytest.param([cond(READY, TRUE, "Evaluated")], [], True, id="a condition gone"),
        pytest.param(
            [cond(READY, TRUE, "Evaluated")],
            [cond(READY, FALSE, "Evaluated")],
            True,
            id="status changed",
        ),
        pytest.param(
            [cond(READY, FALSE, "QueryFailed")],
            [cond(READY, FALSE, "AmbiguousResult")],
            True,
            id="reason changed",
        ),
        pytest.param(
            [cond(READY, TRUE, "Evaluated", "value 1", at=T0, gen=1)],
            [cond(READY, TRUE, "Evaluated", "value 2", at=T1, gen=2)],
            False,
            id="message, time and generation alone are no change",
        ),
        pytest.param(
            [cond(READY, TRUE, "Evaluated"), cond(DATA, TRUE, "DataReceived")],
            [cond(DATA, TRUE, "DataReceived"), cond(READY, TRUE, "Evaluated")],
            False,
            id="order is no change",
        ),
    ],
)
def test_significant_change(old: list[Condition], new: list[Condition], expected: bool) -> None:
    assert significant_change(old, new) is expected


STALLED = ConditionType.STALLED


@pytest.mark.parametrize(
    ("reason", "stalled"),
    [
        pytest.param("InvalidSpec", True, id="InvalidSpec only a spec change can fix"),
        pytest.param("CycleDetected", True, id="CycleDetected only a spec change can fix"),
        pytest.param("QueryFailed", False, id="QueryFailed may pass on the next try"),
        pytest.param("ReferenceNotFound", False, id="ReferenceNotFound may be created"),
        pytest.param("AmbiguousResult", False, id="AmbiguousResult depends on the data"),
        pytest.param("NoData", False, id="NoData may get data"),
        pytest.param("NotANumber", False, id="NotANumber may get a number"),
    ],
)
def test_ready_false_sets_stalled_only_for_terminal_reasons(reason: str, stalled: bool) -> None:
    result = set_condition(
        (), type=READY, status=FALSE, reason=reason, message="why", now=T1, generation=2
    )
    ready = cond(READY, FALSE, reason, "why", at=T1, gen=2)
    mirrored = cond(STALLED, TRUE, reason, "why", at=T1, gen=2)
    assert result == ((ready, mirrored) if stalled else (ready,))


def test_stalled_keeps_its_transition_time_while_ready_stays_terminal() -> None:
    before = (
        cond(READY, FALSE, "InvalidSpec", "old", at=T0, gen=1),
        cond(DATA, UNKNOWN, "InvalidSpec", "old", at=T0, gen=1),
        cond(STALLED, TRUE, "InvalidSpec", "old", at=T0, gen=1),
    )
    result = set_condition(
        before,
        type=READY,
        status=FALSE,
        reason="CycleDetected",
        message="new",
        now=T1,
        generation=2,
    )
    assert result == (
        cond(READY, FALSE, "CycleDetected", "new", at=T0, gen=2),
        cond(DATA, UNKNOWN, "InvalidSpec", "old", at=T0, gen=1),
        cond(STALLED, TRUE, "CycleDetected", "new", at=T0, gen=2),
    )


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        pytest.param(TRUE, "Evaluated", id="fixed"),
        pytest.param(FALSE, "QueryFailed", id="now a transient problem"),
    ],
)
def test_stalled_goes_when_ready_is_no_longer_terminal(
    status: ConditionStatus, reason: str
) -> None:
    before = (
        cond(READY, FALSE, "InvalidSpec", "bad", at=T0, gen=1),
        cond(STALLED, TRUE, "InvalidSpec", "bad", at=T0, gen=1),
    )
    result = set_condition(
        before, type=READY, status=status, reason=reason, message="m", now=T1, generation=2
    )
    since = T0 if status is FALSE else T1  # Ready's own transition time follows its status
    assert result == (cond(READY, status, reason, "m", at=since, gen=2),)


def test_setting_another_condition_leaves_stalled_alone() -> None:
    before = (
        cond(READY, FALSE, "InvalidSpec", "bad"),
        cond(STALLED, TRUE, "InvalidSpec", "bad"),
    )
    result = set_condition(
        before, type=DATA, status=UNKNOWN, reason="InvalidSpec", message="bad", now=T1, generation=1
    )
    assert result == (
        cond(READY, FALSE, "InvalidSpec", "bad"),
        cond(DATA, UNKNOWN, "InvalidSpec", "bad", at=T1),
        cond(STALLED, TRUE, "InvalidSpec", "bad"),
    )
