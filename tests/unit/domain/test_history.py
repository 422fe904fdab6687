from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from okr_operator.domain.history import MAX_POINTS, record
from okr_operator.domain.model import CheckIn, Health

from .helpers import utc

pytestmark = pytest.mark.unit


def point(day: int, hour: int = 12, progress: float = 0.5) -> CheckIn:
    return CheckIn(
        time=utc(2026, 10, day, hour), progress=progress, health=Health.ON_TRACK, value=1.0
    )


def test_record_appends_a_point_on_a_new_day() -> None:
    assert record((point(1), point(2)), point(3)) == (point(1), point(2), point(3))


def test_record_replaces_the_point_of_the_same_utc_day() -> None:
    assert record((point(1), point(2, hour=1)), point(2, hour=23, progress=0.6)) == (
        point(1),
        point(2, hour=23, progress=0.6),
    )


def test_record_uses_the_utc_day_not_the_local_one() -> None:
    # 01:30 in Berlin on Oct 3 is still Oct 2 in UTC.
    berlin = CheckIn(
        time=utc(2026, 10, 2, 23, 30).astimezone(ZoneInfo("Europe/Berlin")),
        progress=0.7,
        health=Health.ON_TRACK,
    )
    assert record((point(1), point(2)), berlin) == (point(1), berlin)


def test_record_places_an_older_point_in_order() -> None:
    assert record((point(1), point(3)), point(2)) == (point(1), point(2), point(3))


def test_record_keeps_the_newest_points() -> None:
    start = utc(2026, 1, 1, 12)
    history = tuple(
        CheckIn(time=start + timedelta(days=i), progress=None, health=Health.UNKNOWN)
        for i in range(MAX_POINTS)
    )
    newest = CheckIn(time=start + timedelta(days=MAX_POINTS), progress=1.0, health=Health.ACHIEVED)
    assert record(history, newest) == (*history[1:], newest)
    assert MAX_POINTS == 120
