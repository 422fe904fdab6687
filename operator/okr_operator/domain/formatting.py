"""How numbers and instants read in condition messages and in ``status.display``."""

from __future__ import annotations

from datetime import UTC, datetime

from okr_operator.domain.model import Display, KeyResult

# Four significant digits, as `kubectl okr` prints them: enough to tell an SLO's
# 99.94 from its 99.9 target. From 10 000 up the whole number reads better than
# 1.235e+06 and loses less.
_SIGNIFICANT = 4
_WHOLE_FROM = 10_000


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC to the second: ``2026-11-23T10:00:00Z``.

    Always a four-digit year: glibc's ``%Y`` prints year 1 as ``1``, which is
    not RFC 3339 (``0001-04-01T00:00:00Z``) and which the API server refuses
    as a metav1.Time.
    """
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


def format_minute(moment: datetime) -> str:
    """``2026-11-16 12:00 UTC`` (four-digit year) for tables and reports."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} {utc.hour:02d}:{utc.minute:02d} UTC"


def format_number(value: float) -> str:
    """``312`` rather than ``312.0``; ten significant digits hide float noise."""
    return format(value, ".10g")


def format_quantity(value: float, unit: str = "") -> str:
    """A number for people, with its unit: ``41.85 hours``, ``99.94%``, ``1234568 requests``."""
    whole = abs(value) >= _WHOLE_FROM
    number = str(round(value)) if whole else format(value, f".{_SIGNIFICANT}g")
    if number == "-0":
        number = "0"
    if not unit:
        return number
    return f"{number}{unit}" if unit == "%" else f"{number} {unit}"


def key_result_display(kr: KeyResult, value: float | None) -> Display:
    """``status.display`` of ``kr`` for the measured ``value`` (None: not measured yet)."""
    return Display(
        value=None if value is None else format_quantity(value, kr.unit),
        target=format_quantity(kr.target, kr.unit),
    )
