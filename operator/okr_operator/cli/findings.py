"""What ``okr validate`` finds in a set of manifests, and how it prints it.

Errors are the operator's own rules (``api.spec.validate_document``, the one
implementation shared with the operator and the webhook) plus what only a set
of files shows: parentRef cycles. Warnings are what a reviewer would want to
hear about a spec the operator accepts. Notes say which references point
outside the files (external: the cluster may have them). Every finding has a
file and a line. Pure: documents in, findings and text out.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import promql_parser

from okr_operator.api.spec import (
    CLUSTER_PROMETHEUS_SOURCE,
    KEY_RESULT,
    OBJECTIVE,
    PROMETHEUS_SOURCE,
    query_language_for,
    validate_document,
)
from okr_operator.cli.manifests import Document, Loaded
from okr_operator.domain.durations import ELAPSED_VARIABLE, format_duration, parse_duration
from okr_operator.domain.graph import describe_cycle, find_cycle
from okr_operator.domain.model import GROUP, VERSION, QueryLanguage, Ref
from okr_operator.domain.periods import quarter_period

# A range this many times longer than the interval re-reads the same data for a
# number that barely moves: 90d at 1m is 129 600 times, 90d at 5m 25 920 times.
RANGE_PER_INTERVAL = 50_000
# What $__elapsed reaches by the end of a quarter, when the period is not in the files.
QUARTER = timedelta(days=92)
_RANGE = re.compile(r"\[\s*([0-9][0-9a-z]*)\s*(?::[^\]]*)?\]")
_TIMES_100 = re.compile(r"(?<![\w.])100\s*\*|\*\s*100(?![\w.])")
_PROBLEM = re.compile(r"^(?P<object>\S+ \S+): (?P<field>[A-Za-z][\w.\[\]]*): (?P<message>.*)$")


class Severity(StrEnum):
    """How much a finding matters: errors fail, warnings fail with --strict, notes never."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Finding:
    """One thing to say about one place in one file."""

    severity: Severity
    file: str
    line: int | None
    object: str
    field: str
    message: str

    def text(self) -> str:
        """``file:line: error: KeyResult ns/x: spec.target: message``."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = ": ".join(part for part in (self.object, self.field, self.message) if part)
        return f"{where}: {self.severity}: {what}"


def _label(doc: Document) -> str:
    meta = doc.body.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name = str(meta.get("name") or "(unnamed)")
    namespace = meta.get("namespace")
    shown = f"{namespace}/{name}" if isinstance(namespace, str) and namespace else name
    return f"{doc.body.get('kind') or '(no kind)'} {shown}"


def _ours(doc: Document) -> bool:
    api_version = doc.body.get("apiVersion")
    return isinstance(api_version, str) and api_version.partition("/")[0] == GROUP


def _spec(doc: Document) -> Mapping[str, Any]:
    spec = doc.body.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _key(doc: Document) -> Ref:
    meta = doc.body.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    return Ref(str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def check(
    loaded: Loaded, *, default_language: QueryLanguage = QueryLanguage.PROMQL
) -> list[Finding]:
    """Every finding for the loaded files, ordered by file and line."""
    findings = [Finding(Severity.ERROR, e.file, e.line, "", "", e.message) for e in loaded.errors]
    docs = [d for d in loaded.documents if _ours(d)]
    bodies = [d.body for d in docs]
    current = [d for d in docs if d.body.get("apiVersion") == f"{GROUP}/{VERSION}"]
    for doc in docs:
        try:
            findings += _rules(doc, bodies, default_language)
            if doc in current:
                findings += _references(doc, current)
                findings += _cycle(doc, current)
                findings += _warnings(doc, current)
        except Exception as err:  # one object's surprise must not hide the others' findings
            findings.append(
                Finding(
                    Severity.ERROR, doc.file, doc.line, _label(doc), "", f"cannot check: {err!r}"
                )
            )
    findings += _duplicates(current)
    order = {name: index for index, name in enumerate(loaded.files)}
    return sorted(findings, key=lambda f: (order.get(f.file, -1), f.file, f.line or 0))


def _rules(
    doc: Document, bodies: Sequence[Mapping[str, Any]], default: QueryLanguage
) -> list[Finding]:
    language = (
        query_language_for(doc.body, bodies, default=default)
        if doc.body.get("kind") == KEY_RESULT
        else default
    )
    found = []
    for problem in validate_document(doc.body, query_language=language):
        match = _PROBLEM.match(problem)
        if match is None:
            found.append(Finding(Severity.ERROR, doc.file, doc.line, _label(doc), "", problem))
            continue
        field = match["field"]
        found.append(
            Finding(
                Severity.ERROR,
                doc.file,
                doc.line_of(field),
                match["object"],
                field,
                match["message"],
            )
        )
    return found


# --------------------------------------------------------------------------- references


def _same(a: Ref, b: Ref) -> bool:
    # A file without a namespace is applied with kubectl -n: it may meet any namespace.
    return a.name == b.name and (a.namespace == b.namespace or not a.namespace or not b.namespace)


def _find(docs: Iterable[Document], kind: str, ref: Ref) -> Document | None:
    return next((d for d in docs if d.body.get("kind") == kind and _same(_key(d), ref)), None)


def _parent_ref(doc: Document) -> Ref | None:
    parent = _spec(doc).get("parentRef")
    if not isinstance(parent, Mapping) or not isinstance(parent.get("name"), str):
        return None
    return Ref(str(parent.get("namespace") or _key(doc).namespace), parent["name"])


def _note(doc: Document, field: str, message: str) -> Finding:
    return Finding(Severity.NOTE, doc.file, doc.line_of(field), _label(doc), field, message)


def _ref_name(spec: Mapping[str, Any], field: str) -> str | None:
    ref = spec.get(field)
    name = ref.get("name") if isinstance(ref, Mapping) else None
    return name if isinstance(name, str) else None


def _references(doc: Document, docs: Sequence[Document]) -> list[Finding]:
    notes = []
    spec, key = _spec(doc), _key(doc)
    kind = doc.body.get("kind")
    if kind == KEY_RESULT:
        objective = _ref_name(spec, "objectiveRef")
        if objective is not None:
            ref = Ref(key.namespace, objective)
            if _find(docs, OBJECTIVE, ref) is None:
                message = f"Objective {_shown(ref)} is not in the files (external)"
                notes.append(_note(doc, "spec.objectiveRef", message))
        source = _ref_name(spec, "sourceRef")
        source_kind = str((spec.get("sourceRef") or {}).get("kind")) if source else ""
        if source is not None and source_kind in (PROMETHEUS_SOURCE, CLUSTER_PROMETHEUS_SOURCE):
            cluster = source_kind == CLUSTER_PROMETHEUS_SOURCE
            ref = Ref("" if cluster else key.namespace, source)
            if _find(docs, source_kind, ref) is None:
                message = f"{source_kind} {_shown(ref)} is not in the files (external)"
                notes.append(_note(doc, "spec.sourceRef", message))
    elif kind == OBJECTIVE:
        parent = _parent_ref(doc)
        if parent is not None and parent != key and _find(docs, OBJECTIVE, parent) is None:
            message = f"Objective {_shown(parent)} is not in the files (external)"
            notes.append(_note(doc, "spec.parentRef", message))
    return notes


def _shown(ref: Ref) -> str:
    return str(ref) if ref.namespace else ref.name


def _cycle(doc: Document, docs: Sequence[Document]) -> list[Finding]:
    if doc.body.get("kind") != OBJECTIVE:
        return []
    objectives = [d for d in docs if d.body.get("kind") == OBJECTIVE]
    by_key = {_key(d): d for d in objectives}

    def parent_of(ref: Ref) -> Ref | None:
        found = by_key.get(ref)
        parent = _parent_ref(found) if found is not None else None
        if parent is None or parent == ref:  # naming itself is validate_document's error
            return None
        target = _find(objectives, OBJECTIVE, parent)
        return _key(target) if target is not None else None

    ref = _key(doc)
    cycle = find_cycle(ref, parent_of)
    if cycle is None or ref not in cycle:
        return []  # no cycle, or one above it: reported on the objectives that form it
    start = cycle.index(ref)  # told from this objective's point of view
    message = f"forms a cycle: {describe_cycle(cycle[start:] + cycle[:start])}"
    field = "spec.parentRef"
    return [Finding(Severity.ERROR, doc.file, doc.line_of(field), _label(doc), field, message)]


def _duplicates(docs: Sequence[Document]) -> list[Finding]:
    seen: dict[tuple[str, Ref], Document] = {}
    found = []
    for doc in docs:
        key = (str(doc.body.get("kind")), _key(doc))
        if not key[1].name:
            continue
        first = seen.setdefault(key, doc)
        if first is not doc:
            found.append(
                Finding(
                    Severity.WARNING,
                    doc.file,
                    doc.line,
                    _label(doc),
                    "metadata.name",
                    f"also defined at {first.file}:{first.line}; "
                    "applied together, the later one wins",
                )
            )
    return found


# --------------------------------------------------------------------------- warnings


def _warnings(doc: Document, docs: Sequence[Document]) -> list[Finding]:
    spec = _spec(doc)
    kind = doc.body.get("kind")
    found = []
    if kind in (KEY_RESULT, OBJECTIVE) and spec.get("weight") == 0:
        message = "is 0: shown, but not counted in its objective's progress or health"
        found.append(_warn(doc, "spec.weight", message))
    query = spec.get("query")
    if kind != KEY_RESULT or not isinstance(query, str):
        return found
    found += _percentage(doc, spec, query)
    found += _interval(doc, spec, query, docs)
    found += _period_outside(doc, spec, docs)
    return found


def _warn(doc: Document, field: str, message: str) -> Finding:
    return Finding(Severity.WARNING, doc.file, doc.line_of(field), _label(doc), field, message)


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _is_ratio(query: str) -> bool:
    """``a / b`` of two series, not scaled by 100: a number between 0 and 1 (usually)."""
    try:
        expr = promql_parser.parse(query.replace(ELAPSED_VARIABLE, "1m"))
    except ValueError:
        return False
    while isinstance(expr, promql_parser.ParenExpr):
        expr = expr.expr
    if not isinstance(expr, promql_parser.BinaryExpr) or str(expr.op) != "/":
        return False
    literal = promql_parser.NumberLiteral
    return (
        not isinstance(expr.lhs, literal)
        and not isinstance(expr.rhs, literal)
        and not _TIMES_100.search(query)
    )


def _percentage(doc: Document, spec: Mapping[str, Any], query: str) -> list[Finding]:
    target, baseline = _number(spec.get("target")), _number(spec.get("baseline"))
    if target is None or not 1 < target <= 100 or not _is_ratio(query):
        return []
    if baseline is not None and baseline > 1:
        return []  # both above 1: the query may well not be a 0-1 ratio
    message = (
        f"{target:g} looks like a percentage, but spec.query divides one series by another "
        f"without multiplying by 100, so it yields a ratio between 0 and 1: "
        f"use {target / 100:g} or multiply the query by 100"
    )
    return [_warn(doc, "spec.target", message)]


def _longest_range(query: str, period: timedelta) -> timedelta | None:
    ranges = [period] if ELAPSED_VARIABLE in query else []
    for match in _RANGE.finditer(query.replace(ELAPSED_VARIABLE, "0s")):
        try:
            ranges.append(parse_duration(match.group(1)))
        except ValueError:
            continue
    return max(ranges, default=None)


def _moment(value: object) -> datetime | None:
    # YAML reads an unquoted timestamp as a datetime, a quoted one as text.
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _period_of(doc: Document, docs: Sequence[Document]) -> tuple[datetime, datetime] | None:
    """(start, end) of a key result's own period, else its objective's in the files."""
    objective = _ref_name(_spec(doc), "objectiveRef")
    theirs = _find(docs, OBJECTIVE, Ref(_key(doc).namespace, objective)) if objective else None
    for source in (doc, theirs):
        if source is None:
            continue
        period = _spec(source).get("period")
        if not isinstance(period, Mapping):
            continue
        try:
            if isinstance(period.get("quarter"), str):
                quarter = quarter_period(period["quarter"], str(period.get("timeZone") or "UTC"))
                return quarter.start, quarter.end
            start, end = _moment(period.get("start")), _moment(period.get("end"))
            if start is not None and end is not None:
                return start, end
        except (ValueError, KeyError):
            return None
    return None


def _interval(
    doc: Document, spec: Mapping[str, Any], query: str, docs: Sequence[Document]
) -> list[Finding]:
    try:
        interval = parse_duration(str(spec.get("interval", "1m")))
    except ValueError:
        return []
    if interval <= timedelta(0):
        return []
    period = _period_of(doc, docs)
    length = period[1] - period[0] if period is not None else QUARTER
    longest = _longest_range(query, length)
    if longest is None or longest / interval <= RANGE_PER_INTERVAL:
        return []
    suggested = timedelta(minutes=math.ceil(longest / RANGE_PER_INTERVAL / timedelta(minutes=1)))
    what = (
        "$__elapsed (up to the whole period)"
        if ELAPSED_VARIABLE in query and longest == length
        else f"a {format_duration(longest)} range"
    )
    message = (
        f"{spec.get('interval', '1m')} re-reads {what} at every evaluation, for a number "
        f"that moves slowly; {format_duration(suggested)} or longer costs Prometheus far less"
    )
    return [_warn(doc, "spec.interval", message)]


def _period_outside(
    doc: Document, spec: Mapping[str, Any], docs: Sequence[Document]
) -> list[Finding]:
    if not isinstance(spec.get("period"), Mapping):
        return []
    own = _period_of(doc, [])
    name = _ref_name(spec, "objectiveRef")
    objective = _find(docs, OBJECTIVE, Ref(_key(doc).namespace, name)) if name else None
    theirs = _period_of(objective, []) if objective is not None else None
    if own is None or theirs is None:
        return []
    if own[0] < theirs[1] and theirs[0] < own[1]:
        return []
    return [
        _warn(
            doc,
            "spec.period",
            "does not overlap its objective's period: it counts towards a period it is not part of",
        )
    ]


# --------------------------------------------------------------------------- output


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def summary(files: int, findings: Sequence[Finding]) -> str:
    """``1 file checked: 0 errors, 1 warning, 2 notes``."""
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    return (
        f"{_count(files, 'file')} checked: {_count(counts[Severity.ERROR], 'error')}, "
        f"{_count(counts[Severity.WARNING], 'warning')}, {_count(counts[Severity.NOTE], 'note')}"
    )


def render_text(files: int, findings: Sequence[Finding]) -> str:
    """One line a finding, then the summary."""
    return "".join(f"{f.text()}\n" for f in findings) + summary(files, findings) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def render_github(files: int, findings: Sequence[Finding]) -> str:
    """GitHub Actions workflow commands: ``::error file=F,line=L,title=...::message``.

    GitHub shows each on the line of the file in the pull request's diff.
    """
    lines = []
    for f in findings:
        props = [f"file={_escape_property(f.file)}"]
        if f.line:
            props.append(f"line={f.line}")
        props.append(f"title={_escape_property('okr validate: ' + (f.object or f.file))}")
        message = ": ".join(part for part in (f.field, f.message) if part)
        lines.append(f"::{_GITHUB[f.severity]} {','.join(props)}::{_escape_data(message)}\n")
    return "".join(lines) + summary(files, findings) + "\n"


def render_json(files: Sequence[str], findings: Sequence[Finding]) -> str:
    """Files, counts and findings as one JSON document."""
    counts = {f"{s}s": sum(1 for f in findings if f.severity is s) for s in Severity}
    body = {
        "files": list(files),
        "summary": {"files": len(files), **counts},
        "findings": [asdict(f) for f in findings],
    }
    return json.dumps(body, indent=2) + "\n"
