"""Reading the Grafana dashboards shipped in helm/okr-operator/dashboards/.

Tests use this to check the dashboards' structure and to run every panel query,
with its template variables filled in, against a real Prometheus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "helm" / "okr-operator" / "dashboards"

# The metrics contract of issue 4: every okr_* name a dashboard or rule may use.
OKR_METRIC_NAMES = frozenset(
    {
        "okr_key_result_value",
        "okr_key_result_target",
        "okr_key_result_baseline",
        "okr_key_result_progress_ratio",
        "okr_key_result_expected_progress_ratio",
        "okr_key_result_weight",
        "okr_key_result_period_start_timestamp_seconds",
        "okr_key_result_period_end_timestamp_seconds",
        "okr_key_result_last_evaluation_timestamp_seconds",
        "okr_key_result_forecast_value",
        "okr_key_result_forecast_progress_ratio",
        "okr_key_result_confidence_ratio",
        "okr_key_result_last_check_in_timestamp_seconds",
        "okr_key_result_check_in_due",
        "okr_key_result_health",
        "okr_key_result_info",
        "okr_objective_progress_ratio",
        "okr_objective_expected_progress_ratio",
        "okr_objective_forecast_progress_ratio",
        "okr_objective_health",
        "okr_objective_info",
        "okr_evaluations_total",
        "okr_evaluation_duration_seconds",
        "okr_query_errors_total",
        "okr_status_writes_total",
    }
)
# Series a histogram is exposed as, besides its own name.
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
HISTOGRAMS = frozenset({"okr_evaluation_duration_seconds"})

# Grafana's built-in variables that panel queries may use, with the values
# panel_queries() gives them unless the caller passes others.
BUILTIN_DEFAULTS: Mapping[str, str] = {
    "__range": "1h",
    "__interval": "1m",
    "__rate_interval": "5m",
}

# `${name}`, `${name:format}`, `${name.field}` (Grafana's `${__data.fields.x}`
# in links) or `$name`. Grafana's deprecated `[[name]]` is not supported on
# purpose: the dashboards must not use it.
_VARIABLE = re.compile(r"\$\{(?P<braced>\w+)(?:[.:][^}]*)?\}|\$(?P<plain>\w+)")
_OKR_METRIC = re.compile(r"\bokr_[a-z0-9_]+")


def load_dashboard(path: Path) -> dict[str, Any]:
    """Parse one dashboard file; a TypeError names the file when it is not a JSON object."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise TypeError(f"{path}: a dashboard must be a JSON object, got {type(data).__name__}")
    return data


def dashboard_paths() -> list[Path]:
    """Every dashboard the chart ships, sorted by name."""
    return sorted(DASHBOARD_DIR.glob("*.json"))


def iter_panels(dashboard: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """All panels, including those nested in (collapsed) rows, depth first."""
    stack: list[Mapping[str, Any]] = list(reversed(dashboard.get("panels", [])))
    while stack:
        panel = stack.pop()
        yield panel
        stack.extend(reversed(panel.get("panels", [])))


def variable_names(text: str) -> set[str]:
    """Names of the template variables referenced in ``text``."""
    return {m.group("braced") or m.group("plain") for m in _VARIABLE.finditer(text)}


def okr_metric_names(expr: str) -> set[str]:
    """The okr_* metric names an expression uses."""
    return set(_OKR_METRIC.findall(expr))


def is_contract_metric(name: str) -> bool:
    """True if ``name`` is a contract metric or one of a contract histogram's series."""
    if name in OKR_METRIC_NAMES:
        return True
    return any(
        name == histogram + suffix for histogram in HISTOGRAMS for suffix in HISTOGRAM_SUFFIXES
    )


def substitute(text: str, variables: Mapping[str, str], *, where: str = "") -> str:
    """Replace ``$var``, ``${var}`` and ``${var:format}`` with their values.

    A variable without a value raises KeyError naming it and ``where`` (for
    example the dashboard and panel), so a missing one never reaches Prometheus
    as a literal ``$name``.
    """

    def value(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain")
        if name not in variables:
            raise KeyError(f"{where}: no value for template variable ${name}")
        return variables[name]

    return _VARIABLE.sub(value, text)


def panel_queries(
    dashboard_json: Mapping[str, Any] | str, variables: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(panel title, PromQL) for every query target of every panel, variables filled in.

    ``dashboard_json`` is the parsed dashboard or its JSON text. ``variables``
    gives the template variables' values (``{"namespace": "payments", ...}``);
    ``$__range``, ``$__interval`` and ``$__rate_interval`` default to
    BUILTIN_DEFAULTS unless given. Hidden targets are skipped, as Grafana skips
    them. Order: panels as laid out in the JSON, targets by position.
    """
    dashboard = json.loads(dashboard_json) if isinstance(dashboard_json, str) else dashboard_json
    values = {**BUILTIN_DEFAULTS, **variables}
    uid = dashboard.get("uid", "?")
    queries: list[tuple[str, str]] = []
    for panel in iter_panels(dashboard):
        title = str(panel.get("title", ""))
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if not expr or target.get("hide", False):
                continue
            where = f"dashboard {uid}, panel {title!r}, target {target.get('refId', '?')}"
            queries.append((title, substitute(expr, values, where=where)))
    return queries
