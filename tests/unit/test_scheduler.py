"""Phases and grid slots: pure functions of uid, interval and time."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from okr_operator.services.scheduler import EPOCH, next_slot, phase

pytestmark = pytest.mark.unit

MINUTE = timedelta(minutes=1)
T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def test_a_phase_is_stable_and_inside_the_interval() -> None:
    assert phase("3f1c-uid", MINUTE) == phase("3f1c-uid", MINUTE)
    assert all(timedelta(0) <= phase(f"uid-{i}", MINUTE) < MINUTE for i in range(1000))


def test_phases_of_many_objects_spread_evenly_over_the_interval() -> None:
    # 10,000 key results at 1m: per 6-second tenth of the minute 1,000 expected.
    tenths = Counter(phase(f"uid-{i}", MINUTE) // timedelta(seconds=6) for i in range(10_000))
    assert sorted(tenths) == list(range(10))
    assert all(900 <= count <= 1100 for count in tenths.values()), tenths


@pytest.mark.parametrize("after", [T0, T0 + timedelta(seconds=17.5), T0 + timedelta(days=3)])
def test_the_next_slot_is_on_the_objects_grid_and_within_one_interval(after: datetime) -> None:
    slot = next_slot("uid-7", MINUTE, after)
    assert after < slot <= after + MINUTE
    assert (slot - EPOCH) % MINUTE == phase("uid-7", MINUTE)


def test_slots_follow_each_other_at_the_interval() -> None:
    first = next_slot("uid-7", MINUTE, T0)
    assert next_slot("uid-7", MINUTE, first) == first + MINUTE
    # Late by anything less than an interval, it returns to the same grid.
    assert next_slot("uid-7", MINUTE, first + timedelta(seconds=59)) == first + MINUTE
