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
from okr_operator.reporting.view import (
    Blocked,
    Change,
    Item,
    KeyResultView,
    ObjectiveView,
    Report,
)

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


def blocked_lines(blocked: Blocked) -> list[str]:
    """A key result with its blockers as nested list entries, and who reported them when."""
    by = f" by {blocked.author}" if blocked.author else ""
    head = f"{item_line(blocked.item)}; check-in {day(blocked.time)}{by}"
    return [head] + [f"  - {_cell(text)}" for text in blocked.blockers]


def forecast_words(kr: KeyResultView) -> str:
    """``80 %, misses 100 %``: the forecast against the key result's success line."""
    if kr.forecast is None:
        return NONE
    line = "70%" if kr.commitment == "Aspirational" else "100%"
    verb = "reaches" if kr.forecast.achieves else "misses"
    return f"{percent(kr.forecast.progress)}, {verb} {line}"


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
    sections = [
        ("Aspirational key results (success is 70%)", review.aspirational,
         "_None: every key result is committed._"),
        ("Forecast to miss", review.forecast_misses,
         "_None: no forecast falls short of its success line._"),
        ("Carried over from last period", review.carried_over, "_None._"),
        ("Check-ins due", review.check_ins_due, "_None._"),
    ]  # fmt: skip
    for heading_text, items, empty in sections:
        lines += ["", f"### {heading_text}", ""]
        lines += [item_line(i) for i in items] or [empty]
    lines += ["", f"### What changed since {day(review.since)}", ""]
    if review.changes:
        lines += ["| What | Progress | Health |", "|---|---|---|"]
        lines += ["| {} | {} | {} |".format(*change_cells(c)) for c in review.changes]
    else:
        lines.append("_Nothing moved._")
    lines += ["", "### Check-in blockers", ""]
    lines += [line for b in review.blockers for line in blocked_lines(b)] or ["_None reported._"]
    lines.append("")
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
            "| Key result | Owner | Value / target | Score | Expected | Health | Weight "
            "| Commitment | Forecast | Confidence |",
            "|---|---|--:|--:|--:|---|--:|---|---|--:|",
        ]
        for kr in obj.key_results:
            unit = f" {kr.unit}" if kr.unit else ""
            score = percent(kr.score) + (" (grade)" if kr.grade is not None else "")
            problem = f" ⚠ {kr.problem.reason}: {kr.problem.message}" if kr.problem else ""
            lines.append(
                f"| {_cell(kr.description or kr.name)} (`{kr.name}`){_cell(problem)} "
                f"| {_cell(kr.owner) or NONE} | {number(kr.value)} / {number(kr.target)}{unit} "
                f"| {score} | {percent(kr.expected_progress)} | {health(kr.health)} "
                f"| {number(kr.weight)} | {kr.commitment or NONE} | {forecast_words(kr)} "
                f"| {percent(kr.confidence)} |"
            )
        lines.append("")
        for kr in obj.key_results:
            notes = []
            if kr.carried_from is not None:
                carried = f"{kr.carried_from.namespace}/{kr.carried_from.name}"
                grade = kr.carried_from.grade
                notes.append(
                    f"carried from `{carried}`"
                    + (f" (grade {percent(grade)})" if grade is not None else "")
                )
            if kr.check_in is not None:
                note = f": “{_cell(kr.check_in.note)}”" if kr.check_in.note else ""
                by = f" by {kr.check_in.author}" if kr.check_in.author else ""
                notes.append(f"last check-in {day(kr.check_in.time)}{by}{note}")
            if kr.check_in_due:
                notes.append("check-in due")
            if notes:
                lines.append(f"- `{kr.name}`: " + "; ".join(notes))
        if any(kr.carried_from or kr.check_in or kr.check_in_due for kr in obj.key_results):
            lines.append("")
    for child in obj.children:
        lines += _objective(child, level=level + 1)
    return lines
