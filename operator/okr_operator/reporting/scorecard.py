"""``okr report``: the cluster's objectives and key results as a scorecard in one format."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from okr_operator.domain.snapshot import Snapshot
from okr_operator.reporting.markdown import render_markdown
from okr_operator.reporting.page import render_html
from okr_operator.reporting.pdf import html_to_pdf
from okr_operator.reporting.series import range_series
from okr_operator.reporting.table import render_csv
from okr_operator.reporting.view import build_report, report_to_json

FORMATS = ("html", "md", "pdf", "csv", "json")


def scorecard(
    snapshot: Snapshot,
    *,
    fmt: str,
    now: datetime,
    scope: str,
    period: str | None = None,
    since: timedelta = timedelta(days=7),
    prometheus: str | None = None,
) -> tuple[bytes, list[str]]:
    """The scorecard's bytes, and warnings for people (what fell back to history)."""
    warnings: list[str] = []
    series = None
    if prometheus:
        series, warnings = range_series(snapshot, prometheus, now=now)
    report = build_report(snapshot, now=now, since=since, period=period, series=series)
    if fmt == "json":
        return (
            json.dumps(report_to_json(report), indent=2, ensure_ascii=False) + "\n"
        ).encode(), warnings
    if fmt == "csv":
        return render_csv(report).encode(), warnings
    if fmt == "md":
        return render_markdown(report, scope=scope).encode(), warnings
    html = render_html(report, scope=scope)
    if fmt == "pdf":
        return html_to_pdf(html), warnings
    if fmt == "html":
        return html.encode(), warnings
    raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
