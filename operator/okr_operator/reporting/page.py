"""The scorecard as one self-contained HTML page (Jinja2 template, inline CSS and SVG).

Jinja2 rather than string building: the page is mostly markup, autoescaping
keeps titles, notes and condition messages from ever becoming HTML, and macros
draw the nested objectives. The same page is what ``--format pdf`` prints and
what the web view serves for one object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from importlib.resources import files
from typing import Any, Protocol

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from okr_operator.domain.model import Condition
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


class Linked(Protocol):
    """Anything naming an object: a key result's view, a review item."""

    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...


def _in_page(kr: Linked) -> str:
    return "#" + anchor("kr", kr.namespace, kr.name)


def render_html(
    report: Report,
    *,
    title: str = "OKR scorecard",
    scope: str = "",
    web: Mapping[str, Any] | None = None,
    kr_href: Callable[[Linked], str] = _in_page,
) -> str:
    """The whole scorecard page.

    The web view passes ``web`` (its filter form's choices and values) and
    ``kr_href`` (key results link to their own pages, which carry the charts);
    the scorecard links key results to their cards further down the page.
    """
    env = _environment()
    return env.get_template("report.html.j2").render(
        report=report,
        title=title,
        scope=scope,
        css=Markup(css()),  # noqa: S704 - our own stylesheet, shipped in the package
        chart=_chart(report.generated_at),
        now=report.generated_at,
        heading=report.period or _periods(report),
        max_changes=MAX_CHANGES,
        web=web,
        kr_href=kr_href,
        cards=web is None,
    )


def render_key_result_page(
    kr: KeyResultView,
    *,
    objective: str,
    conditions: Sequence[Condition],
    now: datetime,
    title: str = "OKR alignment map",
) -> str:
    """The web view's page of one key result: chart, numbers, conditions, history."""
    env = _environment()
    return env.get_template("key_result.html.j2").render(
        kr=kr,
        objective=objective,
        conditions=conditions,
        history=list(reversed(kr.history)),
        title=title,
        css=Markup(css()),  # noqa: S704 - our own stylesheet, shipped in the package
        chart=_chart(now),
        now=now,
    )


def _chart(now: datetime) -> Callable[[KeyResultView], Markup]:
    def chart(kr: KeyResultView) -> Markup:
        svg = trajectory_svg(kr, now=now, chart_id=anchor("chart", kr.namespace, kr.name))
        return Markup(svg)  # noqa: S704 - built by trajectory_svg, every text escaped there

    return chart


def _periods(report: Report) -> str:
    labels = sorted({obj.period.label for obj in report.objectives})
    return ", ".join(labels) if labels else "No objectives"
