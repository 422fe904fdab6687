"""The scorecard as one self-contained HTML page (Jinja2 template, inline CSS and SVG).

Jinja2 rather than string building: the page is mostly markup, autoescaping
keeps titles, notes and condition messages from ever becoming HTML, and macros
draw the nested objectives. The same page is what ``--format pdf`` prints and
what the web view serves for one object.
"""

from __future__ import annotations

import re
from importlib.resources import files

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from okr_operator.reporting import formats
from okr_operator.reporting.chart import trajectory_svg
from okr_operator.reporting.view import KeyResultView, Report

# The first page holds the summary and the review; the longest list is cut there.
MAX_CHANGES = 8


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("okr_operator.reporting", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        percent=formats.percent,
        number=formats.number,
        with_unit=formats.with_unit,
        points=formats.signed_points,
        day=formats.day,
        timestamp=formats.timestamp,
        health_words=formats.health_words,
        health_symbol=formats.health_symbol,
        health_colour=formats.health_colour,
        width=_width,
    )
    env.globals["anchor"] = anchor
    return env


def _width(ratio: float | None) -> str:
    """A CSS percentage clamped to 0..100, for bars."""
    if ratio is None:
        return "0%"
    return f"{max(0.0, min(1.0, ratio)) * 100:.1f}%"


def anchor(kind: str, namespace: str, name: str) -> str:
    """A stable HTML id for an object: ``kr-team-ml-model-refresh-time``."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{kind}-{namespace}-{name}".lower())


def css() -> str:
    """The stylesheet (screen and A4 print)."""
    return files("okr_operator.reporting").joinpath("templates/report.css").read_text()


def render_html(report: Report, *, title: str = "OKR scorecard", scope: str = "") -> str:
    """The whole scorecard page."""
    env = _environment()

    def chart(kr: KeyResultView) -> Markup:
        svg = trajectory_svg(
            kr, now=report.generated_at, chart_id=anchor("chart", kr.namespace, kr.name)
        )
        return Markup(svg)  # noqa: S704 - built by trajectory_svg, every text escaped there

    return env.get_template("report.html.j2").render(
        report=report,
        title=title,
        scope=scope,
        css=Markup(css()),  # noqa: S704 - our own stylesheet, shipped in the package
        chart=chart,
        now=report.generated_at,
        heading=report.period or _periods(report),
        max_changes=MAX_CHANGES,
    )


def _periods(report: Report) -> str:
    labels = sorted({obj.period.label for obj in report.objectives})
    return ", ".join(labels) if labels else "No objectives"
