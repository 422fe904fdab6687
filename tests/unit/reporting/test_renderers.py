"""The scorecard's renderers on the small organisation: golden Markdown, CSV and HTML, the chart."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from okr_operator.reporting.chart import trajectory_svg
from okr_operator.reporting.markdown import render_markdown
from okr_operator.reporting.page import render_html
from okr_operator.reporting.scorecard import scorecard
from okr_operator.reporting.table import COLUMNS, render_csv
from okr_operator.reporting.view import build_report, walk_objectives
from tests.support.golden import assert_golden

from .fixtures import NOW, SNAPSHOT

pytestmark = pytest.mark.unit
GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "reports"
SVG = "{http://www.w3.org/2000/svg}"
REPORT = build_report(SNAPSHOT, now=NOW)


def test_markdown_matches_its_golden_file() -> None:
    assert_golden(render_markdown(REPORT, scope="all namespaces"), GOLDEN / "small.md")


def test_csv_matches_its_golden_file_and_has_one_row_per_key_result() -> None:
    text = render_csv(REPORT)
    assert_golden(text, GOLDEN / "small.csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS
    assert [(r["namespace"], r["name"]) for r in rows] == [
        ("okr-company", "availability"), ("team-sre", "escalations"), ("team-sre", "latency"),
    ]  # fmt: skip
    assert rows[2]["objectivePath"] == "Customers can rely on us > Incidents are rare"


def test_html_matches_its_golden_file() -> None:
    assert_golden(render_html(REPORT, scope="all namespaces"), GOLDEN / "small.html")


def test_html_escapes_what_users_write() -> None:
    company = SNAPSHOT.objectives[1]
    assert company.spec is not None
    hostile = replace(company, spec=replace(company.spec, title="<script>alert(1)</script>"))
    page = render_html(
        build_report(replace(SNAPSHOT, objectives=(SNAPSHOT.objectives[0], hostile)), now=NOW)
    )
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_chart_is_labelled_svg_with_every_point() -> None:
    latency = next(kr for o in walk_objectives(REPORT) for kr in o.key_results
                   if kr.name == "latency")  # fmt: skip
    svg = ET.fromstring(trajectory_svg(latency, now=NOW, chart_id="c1"))  # noqa: S314 - ours
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.findtext(f"{SVG}title") == "Trajectory of latency"
    assert svg.findtext(f"{SVG}desc") == (
        "Health At risk. Measured 3 times from 8 Nov 2026 (0.575 seconds) to 16 Nov 2026 "
        "(0.6 seconds). Expected line from the baseline 0.8 seconds on 30 Sep 2026 to the "
        "target 0.3 seconds on 31 Dec 2026."
    )
    [line] = svg.iter(f"{SVG}polyline")
    assert len(line.get("points", "").split()) == 3
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"target 0.3", "now 0.6", "today", "Oct", "Nov", "Dec"} <= set(texts)


def test_json_format_is_the_view_model() -> None:
    body, warnings = scorecard(SNAPSHOT, fmt="json", now=NOW, scope="")
    assert warnings == []
    assert json.loads(body)["summary"]["keyResults"] == 3
