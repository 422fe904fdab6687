from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from okr_operator.domain.model import (
    Condition,
    ConditionStatus,
    ConditionType,
    Health,
    KeyResultStatus,
    ObjectiveStatus,
)
from okr_operator.domain.writes import needs_write_now, write_due

from .helpers import utc

pytestmark = pytest.mark.unit

T0 = utc(2026, 11, 1)
READY = Condition(ConditionType.READY, ConditionStatus.TRUE, "Evaluated", "value 1", T0, 1)
WRITTEN = KeyResultStatus(
    observed_generation=1,
    value=1.0,
    value_time=T0,
    progress=0.5,
    expected_progress=0.4,
    health=Health.ON_TRACK,
    last_evaluation_time=T0,
    conditions=(READY,),
)


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        pytest.param(WRITTEN, False, id="nothing changed"),
        pytest.param(
            replace(
                WRITTEN,
                value=2.0,
                progress=0.6,
                expected_progress=0.5,
                last_evaluation_time=utc(2026, 11, 2),
            ),
            False,
            id="numbers alone wait for the interval",
        ),
        pytest.param(replace(WRITTEN, health=Health.AT_RISK), True, id="health changed"),
        pytest.param(replace(WRITTEN, grade=0.5), True, id="grade changed"),
        pytest.param(replace(WRITTEN, observed_generation=2), True, id="generation changed"),
        pytest.param(
            replace(
                WRITTEN,
                conditions=(replace(READY, status=ConditionStatus.FALSE, reason="QueryFailed"),),
            ),
            True,
            id="a condition changed",
        ),
        pytest.param(
            replace(WRITTEN, conditions=(replace(READY, message="value 2"),)),
            False,
            id="a condition message alone",
        ),
    ],
)
def test_needs_write_now_for_key_results(new: KeyResultStatus, expected: bool) -> None:
    assert needs_write_now(WRITTEN, new) is expected


def test_needs_write_now_when_nothing_was_written() -> None:
    assert needs_write_now(None, ObjectiveStatus()) is True


def test_needs_write_now_for_objectives() -> None:
    written = ObjectiveStatus(observed_generation=1, progress=0.5, health=Health.ON_TRACK)
    assert (
        needs_write_now(written, replace(written, progress=0.6)),
        needs_write_now(written, replace(written, health=Health.OFF_TRACK)),
    ) == (False, True)


@pytest.mark.parametrize(
    ("last_write", "now", "expected"),
    [
        pytest.param(None, T0, True, id="never written"),
        pytest.param(T0, T0 + timedelta(minutes=4, seconds=59), False, id="within the interval"),
        pytest.param(T0, T0 + timedelta(minutes=5), True, id="the interval has passed"),
    ],
)
def test_write_due(last_write: datetime | None, now: datetime, expected: bool) -> None:
    assert write_due(last_write, now, timedelta(minutes=5)) is expected
