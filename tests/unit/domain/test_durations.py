from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from okr_operator.domain.durations import (
    ELAPSED_VARIABLE,
    duration_milliseconds,
    elapsed_for_query,
    expand_query,
    format_duration,
    parse_duration,
)
from okr_operator.domain.model import Period
from okr_operator.domain.periods import quarter_period

from .helpers import Q4, utc

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("500ms", timedelta(milliseconds=500), id="milliseconds"),
        pytest.param("10s", timedelta(seconds=10), id="seconds"),
        pytest.param("5m", timedelta(minutes=5), id="minutes"),
        pytest.param("1h30m", timedelta(hours=1, minutes=30), id="hours and minutes combine"),
        pytest.param("2d", timedelta(days=2), id="days"),
        pytest.param("1w", timedelta(days=7), id="a week is seven days"),
        pytest.param("1y", timedelta(days=365), id="a year is 365 days"),
        pytest.param(
            "1y2w3d4h5m6s7ms",
            timedelta(days=365 + 14 + 3, hours=4, minutes=5, seconds=6, milliseconds=7),
            id="every unit once in decreasing order",
        ),
        pytest.param("90m", timedelta(minutes=90), id="a unit may exceed the next one up"),
        pytest.param("0s", timedelta(0), id="zero with a unit"),
        pytest.param("0", timedelta(0), id="a bare zero as Prometheus accepts it"),
    ],
)
def test_parse_duration_accepts_prometheus_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("5", id="a number without unit"),
        pytest.param("m", id="a unit without number"),
        pytest.param("30m1h", id="units out of order"),
        pytest.param("1m1m", id="a unit twice"),
        pytest.param("-5m", id="negative"),
        pytest.param("1.5h", id="fractions"),
        pytest.param("5 m", id="blanks"),
        pytest.param("5M", id="upper-case unit"),
        pytest.param("5min", id="unknown unit"),
    ],
)
def test_parse_duration_rejects_bad_input_quoting_it(text: str) -> None:
    with pytest.raises(ValueError, match="^invalid duration " + repr(text).replace("(", r"\(")):
        parse_duration(text)


def test_durations_longer_than_timedelta_are_a_value_error_not_an_overflow() -> None:
    # 99999999999y passed the CRD and crashed the watch handler with OverflowError.
    assert duration_milliseconds("99999999999y") == 99999999999 * 365 * 86_400_000
    with pytest.raises(
        ValueError, match=r"^duration '99999999999y' is too long: at most 999999999d$"
    ):
        parse_duration("99999999999y")
    assert parse_duration("8000y") == timedelta(days=8000 * 365)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        pytest.param(timedelta(0), "0s", id="zero is 0s"),
        pytest.param(timedelta(milliseconds=500), "500ms", id="milliseconds"),
        pytest.param(timedelta(days=37, hours=4, minutes=12), "37d4h12m", id="largest units first"),
        pytest.param(timedelta(days=14), "14d", id="weeks are written as days"),
        pytest.param(timedelta(hours=1, seconds=1), "1h1s", id="zero parts are left out"),
        pytest.param(
            timedelta(seconds=1, microseconds=1500), "1s1ms", id="below a millisecond is dropped"
        ),
    ],
)
def test_format_duration(delta: timedelta, expected: str) -> None:
    assert format_duration(delta) == expected


def test_format_duration_rejects_negative() -> None:
    with pytest.raises(ValueError, match="negative duration"):
        format_duration(timedelta(seconds=-1))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(utc(2026, 11, 7, 4, 12, 59), "37d4h12m", id="floored to whole minutes"),
        pytest.param(utc(2026, 11, 7, 4), "37d4h", id="no zero minutes"),
        pytest.param(utc(2026, 10, 1, 0, 0, 20), "1m", id="never less than one minute"),
        pytest.param(utc(2026, 10, 1), "1m", id="one minute at the very start"),
        pytest.param(utc(2026, 9, 1), "1m", id="one minute before the start"),
    ],
)
def test_elapsed_for_query(at: datetime, expected: str) -> None:
    assert elapsed_for_query(Q4, at) == expected


def test_elapsed_for_query_counts_real_time_across_a_dst_change() -> None:
    # Berlin leaves summer time on 2026-10-25: Oct 1 00:00 local to Nov 1 00:00
    # local is 31 days and one hour, although the wall clocks differ by 31 days.
    period = quarter_period("2026-Q4", "Europe/Berlin")
    at = period.start.replace(month=11)
    assert elapsed_for_query(period, at) == "31d1h"


def test_expand_query_replaces_every_elapsed_variable() -> None:
    query = f"sum(increase(a[{ELAPSED_VARIABLE}])) / sum(increase(b[{ELAPSED_VARIABLE}]))"
    expanded = expand_query(query, period=Q4, at=utc(2026, 11, 7, 4))
    assert expanded == "sum(increase(a[37d4h])) / sum(increase(b[37d4h]))"


def test_expand_query_leaves_other_queries_alone() -> None:
    query = "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"
    assert (
        expand_query(query, period=Period(utc(2026, 1, 1), utc(2026, 4, 1)), at=utc(2026, 2, 1))
        == query
    )
