"""A key result's trajectory as a static, labelled SVG: measured value, expected line, target.

Hand-written rather than a charting library: the chart is three lines on a time
axis, and drawing them here keeps it static (pygal, the well-kept Python SVG
library, embeds a tooltip script fetched from the internet unless told not to,
and styles through generated ids), accessible (``role="img"``, a title and a
description that state the numbers, lines told apart by dash pattern and end
labels as well as colour), and identical in the browser, the web view and the
PDF Chromium prints. Pure: the view model in, SVG text out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from html import escape

from okr_operator.domain.model import Health
from okr_operator.reporting.formats import day, health_colour, health_words, number, with_unit
from okr_operator.reporting.view import KeyResultView, Point

# Sized for half an A4 page: the text stays at about 9 px when printed.
WIDTH, HEIGHT = 400, 190
LEFT, RIGHT, TOP, BOTTOM = 40, 86, 16, 24
MEASURED, EXPECTED, TARGET, GRID, INK = "#1d4ed8", "#6b7280", "#0e6655", "#e5e7eb", "#374151"


def _nice_step(span: float, count: int = 4) -> float:
    raw = span / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _y_ticks(low: float, high: float) -> list[float]:
    step = _nice_step(high - low)
    first = math.ceil(low / step) * step
    ticks: list[float] = []
    value = first
    while value <= high + step * 1e-9 and len(ticks) < 10:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _x_ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """Month starts for a quarter, Mondays for shorter periods."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    ticks: list[tuple[datetime, str]] = []
    if end - start > timedelta(days=45):
        moment = datetime(start.year, start.month, 1, tzinfo=UTC)
        while moment < end:
            if moment >= start - timedelta(days=1):
                ticks.append((max(moment, start), f"{moment:%b}"))
            year, month = (
                (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
            )
            moment = datetime(year, month, 1, tzinfo=UTC)
        return ticks
    moment = datetime(start.year, start.month, start.day, tzinfo=UTC)
    moment += timedelta(days=(7 - moment.weekday()) % 7)
    while moment < end:
        ticks.append((moment, f"{moment.day} {moment:%b}"))
        moment += timedelta(days=7)
    return ticks


def _bounds(kr: KeyResultView, points: Sequence[Point]) -> tuple[float, float]:
    values = [p.value for p in points] + [p.value for p in kr.trajectory.expected]
    values.append(kr.trajectory.target)
    if kr.baseline is not None:
        values.append(kr.baseline)
    low, high = min(values), max(values)
    if high - low < 1e-12:
        pad = abs(high) * 0.1 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return low - pad, high + pad


def trajectory_svg(kr: KeyResultView, *, now: datetime, chart_id: str) -> str:
    """The SVG of ``kr``'s trajectory over its period, ``now`` marked when inside it."""
    title = f"Trajectory of {kr.name}"
    if kr.period is None:
        return _empty(chart_id, title, "No period: the key result's objective is not known.")
    start, end = kr.period.start.astimezone(UTC), kr.period.end.astimezone(UTC)
    points = [
        p for p in kr.trajectory.points if start <= p.time.astimezone(UTC) <= end + timedelta(1)
    ]
    low, high = _bounds(kr, points)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (end - start).total_seconds() or 1.0

    def x(moment: datetime) -> float:
        seconds = (moment.astimezone(UTC) - start).total_seconds()
        return LEFT + plot_w * min(1.0, max(0.0, seconds / span))

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (value - low) / (high - low))

    parts: list[str] = []
    for tick in _y_ticks(low, high):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 3.5:.1f}" text-anchor="end">{number(tick)}</text>'
        )
    for moment, label in _x_ticks(start, end):
        parts.append(
            f'<line x1="{x(moment):.1f}" x2="{x(moment):.1f}" y1="{TOP + plot_h}" '
            f'y2="{TOP + plot_h + 4}" stroke="{INK}"/>'
            f'<text x="{x(moment) + 3:.1f}" y="{HEIGHT - 8}">{escape(label)}</text>'
        )
    parts.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        f'stroke="{GRID}"/>'
    )
    now_utc = now.astimezone(UTC)
    if start < now_utc < end:
        parts.append(
            f'<line x1="{x(now_utc):.1f}" x2="{x(now_utc):.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
            f'stroke="{INK}" stroke-dasharray="1 3"/>'
            f'<text x="{x(now_utc):.1f}" y="{TOP - 3}" text-anchor="middle" '
            f'class="muted">today</text>'
        )
    target_y = y(kr.trajectory.target)
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{target_y:.1f}" y2="{target_y:.1f}" '
        f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="2 2"/>'
    )
    labels: list[tuple[float, str, str]] = [
        (target_y, f"target {number(kr.trajectory.target)}", TARGET)
    ]
    if len(kr.trajectory.expected) == 2:
        first, last = kr.trajectory.expected
        parts.append(
            f'<line x1="{x(first.time):.1f}" y1="{y(first.value):.1f}" x2="{x(last.time):.1f}" '
            f'y2="{y(last.value):.1f}" stroke="{EXPECTED}" stroke-width="1.5" '
            f'stroke-dasharray="6 4"/>'
        )
        if start < now_utc < end:
            expected_now = first.value + (last.value - first.value) * (
                (now_utc - start).total_seconds() / span
            )
            labels.append((y(expected_now), f"plan {number(expected_now)}", EXPECTED))
    colour = health_colour(kr.health) if kr.health is not Health.ON_TRACK else MEASURED
    if points:
        path = " ".join(f"{x(p.time):.1f},{y(p.value):.1f}" for p in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.2" '
            f'stroke-linejoin="round" stroke-linecap="round"/>'
        )
        last_point = points[-1]
        parts.append(
            f'<circle cx="{x(last_point.time):.1f}" cy="{y(last_point.value):.1f}" r="3.5" '
            f'fill="{colour}"/>'
        )
        labels.append((y(last_point.value), f"now {number(last_point.value)}", colour))
    else:
        parts.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" '
            f'class="muted">no measurements yet</text>'
        )
    parts.extend(_end_labels(labels, top=TOP, bottom=TOP + plot_h, x=LEFT + plot_w + 6))
    description = _describe(kr, points)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'class="chart" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
        f'<g font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="11" '
        f'fill="{INK}">{"".join(parts)}</g></svg>'
    )


def _end_labels(
    labels: list[tuple[float, str, str]], *, top: float, bottom: float, x: float
) -> list[str]:
    """Labels at the right edge, pushed apart so that they never overlap."""
    gap = 12.0
    placed: list[tuple[float, str, str]] = []
    for wanted, text, colour in sorted(labels):
        at = max(wanted, placed[-1][0] + gap) if placed else wanted
        placed.append((at, text, colour))
    overflow = placed[-1][0] - (bottom + 4) if placed else 0
    if overflow > 0:
        placed = [(max(top, at - overflow), text, colour) for at, text, colour in placed]
    return [
        f'<text x="{x:.1f}" y="{at + 3.5:.1f}" fill="{colour}" font-weight="600">'
        f"{escape(text)}</text>"
        for at, text, colour in placed
    ]


def _describe(kr: KeyResultView, points: Sequence[Point]) -> str:
    unit = kr.unit
    words = [f"Health {health_words(kr.health)}."]
    if points:
        words.append(
            f"Measured {len(points)} times from {day(points[0].time)} "
            f"({with_unit(points[0].value, unit)}) to {day(points[-1].time)} "
            f"({with_unit(points[-1].value, unit)})."
        )
    else:
        words.append("No measurements yet.")
    if len(kr.trajectory.expected) == 2:
        first, last = kr.trajectory.expected
        words.append(
            f"Expected line from the baseline {with_unit(first.value, unit)} on {day(first.time)} "
            f"to the target {with_unit(last.value, unit)} on {day(last.time)}."
        )
    else:
        words.append(f"Target line {with_unit(kr.trajectory.target, unit)} to hold.")
    return " ".join(words)


def _empty(chart_id: str, title: str, message: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 40" class="chart" '
        f'role="img" aria-labelledby="{chart_id}-title"><title id="{chart_id}-title">'
        f'{escape(title)}</title><text x="8" y="24" font-size="11">{escape(message)}</text></svg>'
    )
