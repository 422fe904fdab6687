"""Prometheus durations: parsing, formatting and the ``$__elapsed`` variable."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from okr_operator.domain.model import Period

ELAPSED_VARIABLE = "$__elapsed"

# Prometheus' own grammar (model.ParseDuration): units in decreasing order,
# each at most once; a year is 365 days and a week 7 days.
_DURATION = re.compile(
    r"(?:(?P<y>\d+)y)?(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?"
    r"(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?"
)
_UNIT_MS = {
    "y": 365 * 86_400_000,
    "w": 7 * 86_400_000,
    "d": 86_400_000,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1_000,
    "ms": 1,
}
# format_duration stops at days: weeks and years would read ambiguously in status.
_FORMAT_UNITS = ("d", "h", "m", "s", "ms")
_MINUTE = timedelta(minutes=1)
# What timedelta holds (about 2.7 million years); field rules set real bounds.
_LONGEST = timedelta(days=999_999_999)
_LONGEST_MS = _LONGEST // timedelta(milliseconds=1)


def duration_milliseconds(text: str) -> int:
    """The exact length of a Prometheus duration in milliseconds, however long.

    Range checks compare this number, so a duration too long for ``timedelta``
    (``99999999999y``) is a clear "too long", not an OverflowError.
    """
    # "0" is the one unit-less duration Prometheus accepts.
    if text == "0":
        return 0
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(
            f"invalid duration {text!r}: expected a Prometheus duration such as "
            "'30s', '5m' or '1h30m' (units y, w, d, h, m, s, ms in that order)"
        )
    return sum(int(count) * _UNIT_MS[unit] for unit, count in match.groupdict().items() if count)


def parse_duration(text: str) -> timedelta:
    """Parse a Prometheus duration such as ``1h30m``, ``2d`` or ``500ms``."""
    millis = duration_milliseconds(text)
    if millis > _LONGEST_MS:
        raise ValueError(f"duration {text!r} is too long: at most {_LONGEST.days}d")
    return timedelta(milliseconds=millis)


def format_duration(delta: timedelta) -> str:
    """Format a non-negative duration with d, h, m, s and ms, largest first.

    Parts below a millisecond are dropped: Prometheus cannot express them.
    """
    if delta < timedelta(0):
        raise ValueError(f"cannot format negative duration {delta}")
    remaining = delta // timedelta(milliseconds=1)
    parts: list[str] = []
    for unit in _FORMAT_UNITS:
        count, remaining = divmod(remaining, _UNIT_MS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def elapsed_for_query(period: Period, at: datetime) -> str:
    """The time since the period start as a PromQL range: whole minutes, at least ``1m``."""
    # Subtract in UTC: two datetimes sharing a ZoneInfo subtract wall clocks and
    # would be off by an hour across a DST change.
    elapsed = at.astimezone(UTC) - period.start.astimezone(UTC)
    whole_minutes = max(elapsed // _MINUTE, 1)
    return format_duration(whole_minutes * _MINUTE)


def expand_query(query: str, *, period: Period, at: datetime) -> str:
    """Replace every ``$__elapsed`` in a query by the elapsed time of the period at ``at``."""
    if ELAPSED_VARIABLE not in query:
        return query
    return query.replace(ELAPSED_VARIABLE, elapsed_for_query(period, at))
