"""The scorecard as CSV: one row per key result, for spreadsheets."""

from __future__ import annotations

import csv
import io

from okr_operator.domain.formatting import format_timestamp
from okr_operator.domain.model import Health
from okr_operator.reporting.view import ObjectiveView, Report

COLUMNS = (
    "period", "objectivePath", "objectiveNamespace", "objective", "objectiveTitle",
    "namespace", "name", "description", "team", "owner", "direction", "unit", "baseline",
    "value", "valueTime", "target", "progress", "expectedProgress", "grade", "score",
    "health", "weight", "problemReason", "problemMessage", "commitment", "forecastProgress",
    "forecastValue", "forecastAchieves", "confidence", "checkInTime", "checkInNote",
    "checkInDue", "carriedFrom",
)  # fmt: skip


def render_csv(report: Report) -> str:
    """Header plus one row per key result, objectives depth first (the report's order).

    Numbers are plain (a dot as decimal separator, no rounding beyond status'),
    times RFC 3339 in UTC, empty cells where unknown.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)

    def rows(obj: ObjectiveView, path: tuple[str, ...]) -> None:
        here = (*path, obj.title)
        for kr in obj.key_results:
            writer.writerow(
                [
                    kr.period.label if kr.period else "", " > ".join(here), obj.namespace,
                    obj.name, obj.title, kr.namespace, kr.name, kr.description, kr.team or "",
                    kr.owner, kr.direction.value if kr.direction else "", kr.unit,
                    _n(kr.baseline), _n(kr.value),
                    format_timestamp(kr.value_time) if kr.value_time else "", _n(kr.target),
                    _n(kr.progress), _n(kr.expected_progress), _n(kr.grade), _n(kr.score),
                    (kr.health or Health.UNKNOWN).value, _n(kr.weight),
                    kr.problem.reason if kr.problem else "",
                    kr.problem.message if kr.problem else "",
                    kr.commitment or "",
                    _n(kr.forecast.progress) if kr.forecast else "",
                    _n(kr.forecast.value) if kr.forecast else "",
                    _b(kr.forecast.achieves if kr.forecast else None),
                    _n(kr.confidence),
                    format_timestamp(kr.check_in.time) if kr.check_in else "",
                    kr.check_in.note if kr.check_in else "",
                    _b(kr.check_in_due),
                    f"{kr.carried_from.namespace}/{kr.carried_from.name}"
                    if kr.carried_from else "",
                ]
            )  # fmt: skip
        for child in obj.children:
            rows(child, here)

    for root in report.objectives:
        rows(root, ())
    return out.getvalue()


def _n(value: float | None) -> str:
    return (
        ""
        if value is None
        else repr(float(value))
        if not float(value).is_integer()
        else str(int(value))
    )


def _b(value: bool | None) -> str:
    return "" if value is None else "true" if value else "false"
