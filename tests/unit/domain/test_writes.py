from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from okr_operator.domain.model import (
    Condition,
    ConditionStatus,
    ConditionType,
    Health,
    KeyResultStatus,
    ObjectiveStatus,
)
from okr_operator.domain.writes import next_write, visible_change

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
INTERVAL = timedelta(minutes=1)
STATUS_INTERVAL = timedelta(minutes=5)


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        pytest.param(WRITTEN, False, id="nothing changed"),
        pytest.param(
            replace(
                WRITTEN,
                value=1.01,
                progress=0.509,
                expected_progress=0.5,
                last_evaluation_time=utc(2026, 11, 2),
            ),
            False,
            id="less than a progress point waits for the status interval",
        ),
        pytest.param(replace(WRITTEN, progress=0.51), True, id="one progress point"),
        pytest.param(replace(WRITTEN, progress=0.49), True, id="one progress point down"),
        pytest.param(replace(WRITTEN, progress=None), True, id="progress became unknown"),
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
def test_visible_change_for_key_results(new: KeyResultStatus, expected: bool) -> None:
    assert visible_change(WRITTEN, new) is expected


def test_visible_change_for_objectives() -> None:
    written = ObjectiveStatus(observed_generation=1, progress=0.5, health=Health.OFF_TRACK)
    assert (
        visible_change(written, replace(written, progress=0.505)),
        visible_change(written, replace(written, progress=0.667)),
        visible_change(written, replace(written, health=Health.AT_RISK)),
    ) == (False, True, True)


def when(new: KeyResultStatus, *, written: KeyResultStatus | None, since: timedelta) -> object:
    """``next_write`` at T0 + since for a status written at T0, as an offset from T0."""
    at = next_write(
        written,
        new,
        last_write=T0 if written is not None else None,
        now=T0 + since,
        interval=INTERVAL,
        status_interval=STATUS_INTERVAL,
    )
    return None if at is None else at - T0


@pytest.mark.parametrize(
    ("new", "written", "since", "expected"),
    [
        pytest.param(WRITTEN, None, timedelta(0), timedelta(0), id="never written: now"),
        pytest.param(
            replace(WRITTEN, progress=0.6),
            WRITTEN,
            timedelta(minutes=2),
            timedelta(minutes=2),
            id="a visible change an interval after the last write: now",
        ),
        pytest.param(
            replace(WRITTEN, health=Health.OFF_TRACK),
            WRITTEN,
            timedelta(seconds=20),
            INTERVAL,
            id="a visible change within the interval: when the interval has passed",
        ),
        pytest.param(
            replace(WRITTEN, value=1.001),
            WRITTEN,
            timedelta(minutes=4, seconds=59),
            None,
            id="unchanged within the status interval: not at all",
        ),
        pytest.param(
            replace(WRITTEN, value=1.001),
            WRITTEN,
            STATUS_INTERVAL,
            STATUS_INTERVAL,
            id="unchanged once the status interval has passed: now",
        ),
    ],
)
def test_next_write(
    new: KeyResultStatus, written: KeyResultStatus | None, since: timedelta, expected: object
) -> None:
    assert when(new, written=written, since=since) == expected


def test_an_unchanged_refresh_still_waits_for_the_evaluation_interval() -> None:
    # --status-interval shorter than the object's interval never means more
    # than one write per interval.
    at = next_write(
        WRITTEN,
        WRITTEN,
        last_write=T0,
        now=T0 + timedelta(seconds=30),
        interval=INTERVAL,
        status_interval=timedelta(seconds=5),
    )
    assert at is None
