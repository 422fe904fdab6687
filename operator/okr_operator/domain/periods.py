"""Periods: calendar quarters in a time zone, phases and expected progress."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from okr_operator.domain.model import Period

_QUARTER = re.compile(r"(?P<year>\d{4})-Q(?P<quarter>[1-4])")


class Phase(StrEnum):
    """Where a moment lies relative to a half-open period."""

    BEFORE = "Before"
    ACTIVE = "Active"
    ENDED = "Ended"


def _zone(time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        # ValueError covers keys that are not even well-formed paths ("../x", "").
        raise ValueError(f"unknown time zone {time_zone!r}: expected an IANA name") from error


def quarter_period(quarter: str, time_zone: str = "UTC") -> Period:
    """The calendar quarter ``"2026-Q4"`` from local midnight to local midnight in ``time_zone``."""
    match = _QUARTER.fullmatch(quarter)
    if match is None:
        raise ValueError(f"invalid quarter {quarter!r}: expected YEAR-Qn such as '2026-Q4'")
    zone = _zone(time_zone)
    year = int(match["year"])
    first_month = 3 * (int(match["quarter"]) - 1) + 1
    end_year, end_month = (year + 1, 1) if first_month == 10 else (year, first_month + 3)
    try:
        start = datetime(year, first_month, 1, tzinfo=zone)
        end = datetime(end_year, end_month, 1, tzinfo=zone)
    except ValueError as error:
        raise ValueError(f"invalid quarter {quarter!r}: {error}") from error
    return Period(start=start, end=end)


def phase(period: Period, now: datetime) -> Phase:
    """BEFORE the start, ACTIVE in ``[start, end)``, ENDED from ``end`` on."""
    instant = now.astimezone(UTC)
    if instant < period.start.astimezone(UTC):
        return Phase.BEFORE
    if instant < period.end.astimezone(UTC):
        return Phase.ACTIVE
    return Phase.ENDED


def expected_progress(period: Period, at: datetime) -> float:
    """The share of the period elapsed at ``at``, clamped to [0, 1]."""
    # All arithmetic in UTC: Period.duration of a zoned quarter subtracts wall
    # clocks and misses the DST hour.
    start = period.start.astimezone(UTC)
    duration = period.end.astimezone(UTC) - start
    elapsed = at.astimezone(UTC) - start
    if duration.total_seconds() <= 0:
        # A degenerate period has no "during": it is all before or all after.
        return 1.0 if elapsed.total_seconds() >= 0 else 0.0
    return min(1.0, max(0.0, elapsed / duration))
