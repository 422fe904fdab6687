"""How OKR objects read in a terminal: the alignment tree, the flat table, and JSON rows.

Pure: every function takes the objects as ``kubectl get -o json`` returns them
(``items``: dicts with ``metadata``, ``spec`` and maybe ``status``) and returns
text or plain data, so ``kubectl okr``, ``okr preview`` and ``make demo`` print
the same thing and tests compare whole outputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Obj = Mapping[str, Any]
Key = tuple[str, str]

HEALTH_COLOURS = {
    "Achieved": "\033[1;32m",
    "OnTrack": "\033[32m",
    "AtRisk": "\033[33m",
    "OffTrack": "\033[31m",
    "Missed": "\033[1;31m",
    "Unknown": "\033[35m",
    "Pending": "\033[2m",
}
RESET = "\033[0m"
BAR_WIDTH = 10
_MISSING = "-"


# --------------------------------------------------------------------------- cells


def is_number(value: object) -> bool:
    """A finite int or float (JSON numbers; not bool, not NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def percent(value: object) -> str:
    """``0.6017`` as ``60%``; ``-`` when unknown."""
    return f"{round(value * 100):d}%" if is_number(value) else _MISSING  # type: ignore[operator]


def number(value: object) -> str:
    """Four significant digits, ``-`` when unknown: ``41.85``, ``0.6008``, ``99.94``."""
    return f"{value:.4g}" if is_number(value) else _MISSING


def bar(progress: object, width: int = BAR_WIDTH) -> str:
    """``██████░░░░``: progress in ``width`` cells (rounded down), blank when unknown."""
    if not is_number(progress):
        return " " * width
    filled = min(width, max(0, math.floor(float(progress) * width)))  # type: ignore[arg-type]
    return "█" * filled + "░" * (width - filled)


def paint(health: str, *, color: bool) -> str:
    """Health in its ANSI colour when ``color``."""
    if color and health in HEALTH_COLOURS:
        return f"{HEALTH_COLOURS[health]}{health}{RESET}"
    return health


def key_of(obj: Obj) -> Key:
    """(namespace, name) of an object."""
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _spec(obj: Obj) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _status(obj: Obj) -> Mapping[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, Mapping) else {}


def value_and_target(kr: Obj) -> str:
    """``0.6008 / 0.3 seconds``: the measured value against the target, with the unit."""
    spec = _spec(kr)
    unit = str(spec.get("unit") or "")
    text = f"{number(_status(kr).get('value'))} / {number(spec.get('target'))}"
    return f"{text} {unit}" if unit else text


def condition_problem(obj: Obj) -> str:
    """``QueryFailed: ...`` when Ready or DataAvailable is False, else empty."""
    for wanted in ("Ready", "DataAvailable"):
        for cond in _status(obj).get("conditions") or []:
            if (
                isinstance(cond, Mapping)
                and cond.get("type") == wanted
                and cond.get("status") == "False"
            ):
                return f"{cond.get('reason', '')}: {cond.get('message', '')}"
    return ""


def parent_of(obj: Obj) -> Key | None:
    """The (namespace, name) an objective's spec.parentRef names, if any."""
    parent = _spec(obj).get("parentRef")
    if not isinstance(parent, Mapping):
        return None
    return str(parent.get("namespace") or key_of(obj)[0]), str(parent.get("name") or "")


def objective_of(kr: Obj) -> Key:
    """The (namespace, name) a key result's spec.objectiveRef names."""
    ref = _spec(kr).get("objectiveRef")
    name = ref.get("name", "") if isinstance(ref, Mapping) else ""
    return key_of(kr)[0], str(name)


# --------------------------------------------------------------------------- the tree


@dataclass
class _Node:
    label: str
    obj: Obj | None
    kind: str
    children: list[_Node] = field(default_factory=list)


def _build(objectives: Sequence[Obj], key_results: Sequence[Obj]) -> list[_Node]:
    by_key = {key_of(obj): obj for obj in objectives}
    children: dict[Key, list[Key]] = {}
    roots: list[Key] = []
    for key, obj in sorted(by_key.items()):
        parent = parent_of(obj)
        if parent is None or parent not in by_key:
            roots.append(key)
        else:
            children.setdefault(parent, []).append(key)
    krs: dict[Key, list[Obj]] = {}
    for kr in sorted(key_results, key=key_of):
        krs.setdefault(objective_of(kr), []).append(kr)

    placed: set[Key] = set()

    def node(key: Key) -> _Node:
        placed.add(key)
        obj = by_key[key]
        title = _spec(obj).get("title") or key[1]
        result = _Node(f"{title} [{key[0]}]", obj, "Objective")
        result.children.extend(_Node(key_of(kr)[1], kr, "KeyResult") for kr in krs.get(key, []))
        # A cycle of parentRefs has no root: the loop below shows it once.
        result.children.extend(
            node(child) for child in children.get(key, []) if child not in placed
        )
        return result

    tree: list[_Node] = []
    for key in roots:
        root = node(key)
        missing_parent = parent_of(by_key[key])
        if missing_parent is not None:
            root.label += f" (parent {'/'.join(missing_parent)} not found)"
        tree.append(root)
    tree.extend(node(key) for key in sorted(by_key) if key not in placed)
    orphans = [kr for key, group in sorted(krs.items()) if key not in by_key for kr in group]
    if orphans:
        missing = _Node("(key results whose objective does not exist)", None, "")
        missing.children.extend(_Node(key_of(kr)[1], kr, "KeyResult") for kr in orphans)
        tree.append(missing)
    return tree


def _flatten(nodes: Sequence[_Node], prefix: str = "") -> list[tuple[str, _Node]]:
    rows: list[tuple[str, _Node]] = []
    for index, child in enumerate(nodes):
        last = index == len(nodes) - 1
        rows.append((prefix + ("└─ " if last else "├─ "), child))
        rows.extend(_flatten(child.children, prefix + ("   " if last else "│  ")))
    return rows


def _align(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]
) -> list[list[str]]:
    """Pad every cell to its column's width (right-aligned for ``right``)."""
    widths = [max(len(cells[i]) for cells in [header, *rows]) for i in range(len(header))]
    return [
        [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        for row in [header, *rows]
    ]


def _join(cells: Sequence[str]) -> str:
    return "  ".join(cells).rstrip()


def _progress_cell(progress: object) -> str:
    return f"{bar(progress)} {percent(progress):>4}"


TREE_HEADER = (
    "OBJECTIVE / KEY RESULT",
    "VALUE / TARGET",
    "PROGRESS",
    "EXPECTED",
    "HEALTH",
    "OWNER",
)
_TREE_HEALTH = 4


def render_tree(
    objectives: Sequence[Obj], key_results: Sequence[Obj], *, color: bool = False
) -> str:
    """The alignment map: company objectives, their key results, child objectives below.

    Roots are objectives without a parentRef (or whose parent does not exist).
    Progress is a bar of ten cells and a percentage. With ``color``, health is
    wrapped in ANSI colours after the columns are aligned, so they stay aligned.
    """
    nodes: list[tuple[str, _Node]] = []
    for root in _build(objectives, key_results):
        nodes.append(("", root))
        nodes.extend(_flatten(root.children))
    rows = []
    for prefix, node in nodes:
        if node.obj is None:  # the heading of key results without an objective
            rows.append([prefix + node.label, "", "", "", "", ""])
            continue
        status = _status(node.obj)
        rows.append(
            [
                prefix + node.label,
                value_and_target(node.obj) if node.kind == "KeyResult" else "",
                _progress_cell(status.get("progress")),
                percent(status.get("expectedProgress")),
                str(status.get("health") or _MISSING),
                str(_spec(node.obj).get("owner") or ""),
            ]
        )
    return _render(TREE_HEADER, rows, right={3}, health_column=_TREE_HEALTH, color=color)


def _render(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: set[int],
    health_column: int,
    color: bool,
) -> str:
    aligned = _align(header, rows, right)
    lines = [_join(aligned[0])]
    for raw, cells in zip(rows, aligned[1:], strict=True):
        health = raw[health_column]
        if color and health in HEALTH_COLOURS:
            padding = cells[health_column][len(health) :]
            cells[health_column] = paint(health, color=True) + padding
        lines.append(_join(cells))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the table

TABLE_HEADER = (
    "NAMESPACE",
    "KIND",
    "NAME",
    "VALUE",
    "BASELINE",
    "TARGET",
    "PROGRESS",
    "EXPECTED",
    "HEALTH",
    "OWNER",
    "CONDITION",
)
_TABLE_HEALTH = 8


def _ordered(objectives: Sequence[Obj], key_results: Sequence[Obj]) -> list[Obj]:
    """Objectives, then key results, each by namespace and name."""
    return [*sorted(objectives, key=key_of), *sorted(key_results, key=key_of)]


def _forecasts(objects: Sequence[Obj]) -> bool:
    # status.forecast does not exist yet; the column appears once the operator writes it.
    return any(is_number(_status(obj).get("forecast")) for obj in objects)


def _baseline(kr: Obj) -> object:
    # The baseline in force: the spec's, else the one captured at the period start.
    spec_baseline = _spec(kr).get("baseline")
    return spec_baseline if is_number(spec_baseline) else _status(kr).get("baseline")


def render_table(
    objectives: Sequence[Obj], key_results: Sequence[Obj], *, color: bool = False
) -> str:
    """Every object on one line: value, baseline, target, progress, expected, health, owner.

    CONDITION shows the reason and message of a Ready or DataAvailable condition
    that is False (why there is no usable number). FORECAST appears only when some
    status has a forecast.
    """
    objects = _ordered(objectives, key_results)
    forecast = _forecasts(objects)
    header = list(TABLE_HEADER)
    if forecast:
        header.insert(_TABLE_HEALTH + 1, "FORECAST")
    rows = []
    for obj in objects:
        status, spec = _status(obj), _spec(obj)
        namespace, name = key_of(obj)
        is_kr = obj.get("kind") == "KeyResult"
        unit = str(spec.get("unit") or "")
        value = number(status.get("value")) + (f" {unit}" if unit and is_kr else "")
        row = [
            namespace,
            "kr" if is_kr else "obj",
            name,
            value if is_kr else "",
            number(_baseline(obj)) if is_kr else "",
            number(spec.get("target")) if is_kr else "",
            percent(status.get("progress")),
            percent(status.get("expectedProgress")),
            str(status.get("health") or _MISSING),
            str(spec.get("owner") or ""),
            condition_problem(obj),
        ]
        if forecast:
            row.insert(_TABLE_HEALTH + 1, percent(status.get("forecast")))
        rows.append(row)
    return _render(header, rows, right={6, 7}, health_column=_TABLE_HEALTH, color=color)


# --------------------------------------------------------------------------- JSON


def _conditions(obj: Obj) -> list[dict[str, Any]]:
    return [
        {key: cond.get(key) for key in ("type", "status", "reason", "message")}
        for cond in _status(obj).get("conditions") or []
        if isinstance(cond, Mapping)
    ]


def row(obj: Obj) -> dict[str, Any]:
    """One object as plain data: what the table shows, numbers at full precision."""
    status, spec = _status(obj), _spec(obj)
    namespace, name = key_of(obj)
    out: dict[str, Any] = {
        "kind": obj.get("kind"),
        "namespace": namespace,
        "name": name,
        "owner": spec.get("owner") or None,
    }
    if obj.get("kind") == "KeyResult":
        out.update(
            objective=objective_of(obj)[1],
            unit=spec.get("unit") or None,
            value=status.get("value"),
            baseline=_baseline(obj),
            target=spec.get("target"),
        )
    else:
        parent = parent_of(obj)
        out.update(
            title=spec.get("title"),
            parent={"namespace": parent[0], "name": parent[1]} if parent else None,
        )
    out.update(
        progress=status.get("progress"),
        expectedProgress=status.get("expectedProgress"),
        health=status.get("health"),
        lastEvaluationTime=status.get("lastEvaluationTime"),
    )
    if "forecast" in status:
        out["forecast"] = status["forecast"]
    out["conditions"] = _conditions(obj)
    return out


def table_json(objectives: Sequence[Obj], key_results: Sequence[Obj]) -> list[dict[str, Any]]:
    """The table as data: objectives, then key results."""
    return [row(obj) for obj in _ordered(objectives, key_results)]


def tree_json(objectives: Sequence[Obj], key_results: Sequence[Obj]) -> dict[str, Any]:
    """The tree as data: root objectives with ``keyResults`` and ``children``, nested."""

    def nested(node: _Node) -> dict[str, Any]:
        out = row(node.obj or {})
        out["keyResults"] = [row(c.obj or {}) for c in node.children if c.kind == "KeyResult"]
        out["children"] = [nested(c) for c in node.children if c.kind == "Objective"]
        return out

    built = _build(objectives, key_results)
    roots = [nested(node) for node in built if node.obj is not None]
    orphans = [row(c.obj or {}) for node in built if node.obj is None for c in node.children]
    return {"objectives": roots, "keyResultsWithoutObjective": orphans}


def wants_colour(isatty: bool, environ: Mapping[str, str]) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return isatty and not environ.get("NO_COLOR")
