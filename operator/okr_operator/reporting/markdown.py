"""The scorecard as Markdown (GitHub-flavoured tables), for wikis, pull requests and chat."""

from __future__ import annotations

from okr_operator.domain.model import Health
from okr_operator.reporting.formats import (
    day,
    health_symbol,
    health_words,
    number,
    percent,
    signed_points,
    timestamp,
)
from okr_operator.reporting.view import Change, Item, ObjectiveView, Report

NONE = "\u2013"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def health(value: Health | None) -> str:
    """``▲ At risk``: a shape and the words, never colour alone."""
    return f"{health_symbol(value)} {health_words(value)}"


def item_line(item: Item) -> str:
    """One review item as a list entry."""
    who = " · ".join(part for part in (item.team, item.owner) if part)
    return (
        f"- {health(item.health)}: **{_cell(item.label)}** ({who}): "
        f"score {percent(item.score)}, expected {percent(item.expected_progress)}"
    )


def change_cells(change: Change) -> tuple[str, str, str]:
    """What, progress and health columns of a change."""
    progress = (
        f"{percent(change.progress_before)} → {percent(change.progress)} "
        f"({signed_points(change.progress_change)})"
    )
    moves = ", ".join(
        f"{health_words(t.before)} → {health_words(t.after)} ({day(t.time)})"
        for t in change.transitions
    )
    return _cell(change.label), progress, moves or health_words(change.health)


def render_markdown(report: Report, *, title: str = "OKR scorecard", scope: str = "") -> str:
    """The whole scorecard."""
    heading = report.period or ", ".join(sorted({o.period.label for o in report.objectives}))
    lines = [f"# {title} · {heading or 'no objectives'}", ""]
    summary = report.summary
    meta = [f"As of {timestamp(report.generated_at)}", scope,
            f"{summary.objectives} objectives", f"{summary.key_results} key results"]  # fmt: skip
    lines += [" · ".join(part for part in meta if part), ""]
    counts = [
        f"{count} {health(Health(name))}" for name, count in report.summary.health.items() if count
    ]
    if counts:
        lines += ["Key results: " + " · ".join(counts), ""]
    review = report.review
    lines += ["## Review", "", "### Committed key results that missed", ""]
    lines += [item_line(i) for i in review.missed] or ["_None: no key result has ended Missed._"]
    lines += ["", "### Behind plan", ""]
    lines += [item_line(i) for i in review.behind] or ["_None: every key result is on track._"]
    lines += ["", f"### What changed since {day(review.since)}", ""]
    if review.changes:
        lines += ["| What | Progress | Health |", "|---|---|---|"]
        lines += ["| {} | {} | {} |".format(*change_cells(c)) for c in review.changes]
    else:
        lines.append("_Nothing moved._")
    lines += ["", "### Check-in blockers", "", "_No check-ins recorded._", ""]
    for obj in report.objectives:
        lines += _objective(obj, level=2)
    if report.invalid:
        lines += ["## Not in this report", ""]
        lines += [f"- {_cell(i.message)}" for i in report.invalid]
        lines.append("")
    return "\n".join(lines)


def _objective(obj: ObjectiveView, *, level: int) -> list[str]:
    marks = "#" * min(level, 6)
    lines = [
        f"{marks} {_cell(obj.title)}: {percent(obj.score)} "
        f"(expected {percent(obj.expected_progress)}), {health(obj.health)}",
        "",
    ]
    meta = [f"Team {obj.team}" if obj.team else "", f"Owner {obj.owner}" if obj.owner else "",
            obj.period.label, f"`{obj.namespace}/{obj.name}`"]  # fmt: skip
    lines += [" · ".join(part for part in meta if part), ""]
    if obj.problem is not None:
        lines += [f"> **{obj.problem.reason}**: {_cell(obj.problem.message)}", ""]
    if obj.key_results:
        lines += [
            "| Key result | Owner | Value / target | Score | Expected | Health | Weight |",
            "|---|---|--:|--:|--:|---|--:|",
        ]
        for kr in obj.key_results:
            unit = f" {kr.unit}" if kr.unit else ""
            score = percent(kr.score) + (" (grade)" if kr.grade is not None else "")
            problem = f" ⚠ {kr.problem.reason}: {kr.problem.message}" if kr.problem else ""
            lines.append(
                f"| {_cell(kr.description or kr.name)} (`{kr.name}`){_cell(problem)} "
                f"| {_cell(kr.owner) or NONE} | {number(kr.value)} / {number(kr.target)}{unit} "
                f"| {score} | {percent(kr.expected_progress)} | {health(kr.health)} "
                f"| {number(kr.weight)} |"
            )
        lines.append("")
    for child in obj.children:
        lines += _objective(child, level=level + 1)
    return lines
