"""How numbers, health and times read in every report (HTML, Markdown, CSV, digest)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from okr_operator.domain.formatting import format_minute
from okr_operator.domain.model import Health

# Health in words first: colour is never the only signal (printouts, colour blindness).
HEALTH_WORDS = {
    Health.PENDING: "Pending",
    Health.ON_TRACK: "On track",
    Health.AT_RISK: "At risk",
    Health.OFF_TRACK: "Off track",
    Health.ACHIEVED: "Achieved",
    Health.MISSED: "Missed",
    Health.UNKNOWN: "Unknown",
}
HEALTH_SYMBOLS = {
    Health.PENDING: "○",
    Health.ON_TRACK: "●",
    Health.AT_RISK: "▲",
    Health.OFF_TRACK: "■",
    Health.ACHIEVED: "✔",
    Health.MISSED: "✖",
    Health.UNKNOWN: "?",
}
# Hex colours shared by the HTML, the charts and the digest (Slack attachments, Teams).
HEALTH_COLOURS = {
    Health.PENDING: "#6b7280",
    Health.ON_TRACK: "#1a7f37",
    Health.AT_RISK: "#b45309",
    Health.OFF_TRACK: "#c62828",
    Health.ACHIEVED: "#0e6655",
    Health.MISSED: "#7f1d1d",
    Health.UNKNOWN: "#6b4fa0",
}


def health_words(health: Health | None) -> str:
    """``On track``; ``Unknown`` when the operator has not written a health yet."""
    return HEALTH_WORDS[health or Health.UNKNOWN]


def health_symbol(health: Health | None) -> str:
    """A shape per health, for text where colour is not available."""
    return HEALTH_SYMBOLS[health or Health.UNKNOWN]


def health_colour(health: Health | None) -> str:
    """The hex colour of a health."""
    return HEALTH_COLOURS[health or Health.UNKNOWN]


def percent(ratio: float | None) -> str:
    """``42%``; an en dash when unknown."""
    if ratio is None or not math.isfinite(ratio):
        return "\u2013"
    return f"{round(ratio * 100):d}%"


def signed_points(change: float | None) -> str:
    """A progress change in percentage points: ``+12 pts``, ``\u22125 pts`` (a minus sign)."""
    if change is None:
        return "\u2013"
    points = round(change * 100)
    sign = "+" if points > 0 else ("\u2212" if points < 0 else "\u00b1")
    return f"{sign}{abs(points)} {'pt' if abs(points) == 1 else 'pts'}"


def number(value: float | None) -> str:
    """Four significant digits, no float noise: ``0.6008``, ``41.85``, ``99.94``, ``4``."""
    if value is None or not math.isfinite(value):
        return "\u2013"
    if value != 0 and abs(value) >= 1e6:
        return f"{value:.3g}"
    text = f"{value:.4g}"
    return text if "e" not in text else f"{value:.6f}".rstrip("0").rstrip(".")


def with_unit(value: float | None, unit: str) -> str:
    """``0.6 seconds``, ``99.94 %``."""
    text = number(value)
    return f"{text} {unit}" if unit and value is not None else text


def day(moment: datetime | None) -> str:
    """``16 Nov 2026`` (UTC)."""
    if moment is None:
        return "\u2013"
    utc = moment.astimezone(UTC)
    return f"{utc.day} {utc:%b} {utc.year:04d}"


def timestamp(moment: datetime | None) -> str:
    """``2026-11-16 12:00 UTC``."""
    if moment is None:
        return "\u2013"
    return format_minute(moment)
