"""How numbers and instants read in condition messages."""

from __future__ import annotations

from datetime import UTC, datetime


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC to the second: ``2026-11-23T10:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_number(value: float) -> str:
    """``312`` rather than ``312.0``; ten significant digits hide float noise."""
    return format(value, ".10g")
