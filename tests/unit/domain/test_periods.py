from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from okr_operator.domain.model import Period
from okr_operator.domain.periods import Phase, expected_progress, phase, quarter_period

from .helpers import Q4, utc

pytestmark = pytest.mark.unit

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("quarter", "zone", "start", "end"),
    [
        pytest.param(
            "2026-Q1",
            "UTC",
            datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
            datetime(2026, 4, 1, tzinfo=ZoneInfo("UTC")),
            id="Q1 runs January to April",
        ),
        pytest.param(
            "2026-Q2",
            "UTC",
            datetime(2026, 4, 1, tzinfo=ZoneInfo("UTC")),
            datetime(2026, 7, 1, tzinfo=ZoneInfo("UTC")),
            id="Q2 runs April to July",
        ),
        pytest.param(
            "2026-Q3",
            "UTC",
            datetime(2026, 7, 1, tzinfo=ZoneInfo("UTC")),
            datetime(2026, 10, 1, tzinfo=ZoneInfo("UTC")),
            id="Q3 runs July to October",
        ),
        pytest.param(
            "2026-Q4",
            "UTC",
            datetime(2026, 10, 1, tzinfo=ZoneInfo("UTC")),
            datetime(2027, 1, 1, tzinfo=ZoneInfo("UTC")),
            id="Q4 ends at the next new year",
        ),
        pytest.param(
            "2026-Q4",
            "Europe/Berlin",
            datetime(2026, 10, 1, tzinfo=BERLIN),
            datetime(2027, 1, 1, tzinfo=BERLIN),
            id="local midnight in the given zone",
        ),
    ],
)
def test_quarter_period(quarter: str, zone: str, start: datetime, end: datetime) -> None:
    period = quarter_period(quarter, zone)
    assert period == Period(start=start, end=end)
    assert period.start.tzinfo == ZoneInfo(zone)
    assert period.end.tzinfo == ZoneInfo(zone)


def test_quarter_period_defaults_to_utc() -> None:
    assert quarter_period("2026-Q4") == Q4


def test_quarter_period_local_midnight_is_the_right_instant() -> None:
    period = quarter_period("2026-Q4", "Europe/Berlin")
    # Berlin is on summer time (UTC+2) on Oct 1 and on winter time (UTC+1) on Jan 1.
    assert (period.start, period.end) == (utc(2026, 9, 30, 22), utc(2026, 12, 31, 23))


@pytest.mark.parametrize(
    ("quarter", "zone", "message"),
    [
        pytest.param("2026-Q5", "UTC", "invalid quarter '2026-Q5'", id="no fifth quarter"),
        pytest.param("2026-Q0", "UTC", "invalid quarter '2026-Q0'", id="no quarter zero"),
        pytest.param("2026Q4", "UTC", "invalid quarter '2026Q4'", id="missing dash"),
        pytest.param("26-Q4", "UTC", "invalid quarter '26-Q4'", id="two-digit year"),
        pytest.param("2026-q4", "UTC", "invalid quarter '2026-q4'", id="lower-case q"),
        pytest.param("0000-Q1", "UTC", "invalid quarter '0000-Q1'", id="year zero"),
        pytest.param("9999-Q4", "UTC", "invalid quarter '9999-Q4'", id="end beyond year 9999"),
        pytest.param(
            "2026-Q4", "Mars/Olympus", "unknown time zone 'Mars/Olympus'", id="unknown zone"
        ),
        pytest.param(
            "2026-Q4", "../etc/passwd", "unknown time zone '../etc/passwd'", id="path as zone"
        ),
        pytest.param("2026-Q4", "", "unknown time zone ''", id="empty zone"),
    ],
)
def test_quarter_period_rejects_bad_input_naming_the_value(
    quarter: str, zone: str, message: str
) -> None:
    with pytest.raises(ValueError, match="^" + message):
        quarter_period(quarter, zone)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(utc(2026, 9, 30, 23, 59, 59), Phase.BEFORE, id="before the start"),
        pytest.param(utc(2026, 10, 1), Phase.ACTIVE, id="the start is inside"),
        pytest.param(utc(2026, 12, 31, 23, 59, 59), Phase.ACTIVE, id="the last second is inside"),
        pytest.param(utc(2027, 1, 1), Phase.ENDED, id="the end is outside"),
        pytest.param(utc(2027, 6, 1), Phase.ENDED, id="long after the end"),
        pytest.param(
            datetime(2026, 10, 1, 1, tzinfo=BERLIN),
            Phase.BEFORE,
            id="an instant in another zone compares as an instant",
        ),
    ],
)
def test_phase(now: datetime, expected: Phase) -> None:
    assert phase(Q4, now) == expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(utc(2026, 9, 1), 0.0, id="zero before the start"),
        pytest.param(utc(2026, 10, 1), 0.0, id="zero at the start"),
        pytest.param(utc(2026, 11, 16), 0.5, id="half-way through 92 days"),
        pytest.param(utc(2027, 1, 1), 1.0, id="one at the end"),
        pytest.param(utc(2027, 3, 1), 1.0, id="one after the end"),
    ],
)
def test_expected_progress(at: datetime, expected: float) -> None:
    assert expected_progress(Q4, at) == expected


def test_expected_progress_measures_real_time_in_a_zone_with_dst() -> None:
    period = quarter_period("2026-Q4", "Europe/Berlin")
    # 92 days and one hour in real time; half of it is 46 days and half an hour.
    half_way = utc(2026, 9, 30, 22) + (utc(2026, 12, 31, 23) - utc(2026, 9, 30, 22)) / 2
    assert expected_progress(period, half_way) == 0.5


def test_expected_progress_of_a_degenerate_period() -> None:
    empty = Period(start=utc(2026, 10, 1), end=utc(2026, 10, 1))
    assert (
        expected_progress(empty, utc(2026, 9, 1)),
        expected_progress(empty, utc(2026, 10, 1)),
    ) == (
        0.0,
        1.0,
    )
