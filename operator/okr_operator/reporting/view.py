"""The view model of every report: a snapshot of objectives and key results, ready to draw.

Pure: no I/O, the time is an argument. ``build_report`` turns a
:class:`~okr_operator.domain.snapshot.Snapshot` into a :class:`Report` (company
objectives down to team key results, the trajectories, the review section);
``report_to_json`` is its stable JSON form, documented in docs/report.md. The
HTML, Markdown, CSV and PDF scorecards, the digest and the web view all draw
from this one model, so they never disagree.

Commitment, confidence, the latest check-in (with its blockers), forecasts and
carry-over come from the status the engine writes (issue 10).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from okr_operator.domain.conditions import get_condition
from okr_operator.domain.formatting import format_timestamp
from okr_operator.domain.model import (
    CarriedFrom,
    CheckIn,
    Commitment,
    ConditionStatus,
    ConditionType,
    Direction,
    Forecast,
    Health,
    KeyResultStatus,
    LatestCheckIn,
    ObjectiveStatus,
    Period,
    Ref,
)
from okr_operator.domain.periods import quarter_period
from okr_operator.domain.snapshot import KeyResultSnapshot, ObjectiveSnapshot, Snapshot

JSON_VERSION = 1
TEAM_LABEL = "team"  # okr.dev/team, with the prefix stripped by the spec parser
# A progress change smaller than this (one percentage point) is noise, not news.
MIN_PROGRESS_CHANGE = 0.01
BEHIND = (Health.AT_RISK, Health.OFF_TRACK)
_QUARTER = re.compile(r"(?P<year>\d{4})-Q(?P<quarter>[1-4])")


# --- the model ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Point:
    """One value at one time on a chart."""

    time: datetime
    value: float


@dataclass(frozen=True, slots=True)
class PeriodView:
    """A period as people read it: ``2026-Q4`` or ``2026-10-15 \u2013 2026-12-18`` (an en dash)."""

    label: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Trajectory:
    """What a key result's chart draws.

    ``points``: measured values (from ``status.history``, or Prometheus range
    queries when ``source`` is ``prometheus``). ``expected``: the straight line
    from the baseline at the period start to the target at its end (empty for
    StayAbove/StayBelow, whose target is a line to hold, and while the
    baseline is unknown). ``target``: the horizontal target line.
    """

    source: str
    points: tuple[Point, ...]
    expected: tuple[Point, ...]
    target: float


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One day of ``status.history``."""

    time: datetime
    value: float | None
    progress: float | None
    health: Health


@dataclass(frozen=True, slots=True)
class ProblemView:
    """Why an object is not Ready, in the words its status already uses."""

    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class KeyResultView:
    """A key result as a scorecard row and a chart.

    ``score`` is the grade after the period and the progress during it: the one
    number a scorecard shows. ``commitment``, ``confidence``, ``check_in``,
    ``forecast`` and ``carried_from`` come from status (None where absent);
    ``commitment`` is the one in force (the key result's or its objective's).
    """

    namespace: str
    name: str
    objective: str
    description: str
    owner: str
    team: str | None
    weight: float
    unit: str
    direction: Direction | None
    baseline: float | None
    target: float
    value: float | None
    value_time: datetime | None
    progress: float | None
    expected_progress: float | None
    grade: float | None
    score: float | None
    health: Health | None
    period: PeriodView | None
    problem: ProblemView | None
    trajectory: Trajectory
    history: tuple[HistoryPoint, ...]
    commitment: str | None = None
    confidence: float | None = None
    check_in: LatestCheckIn | None = None
    check_in_due: bool | None = None
    forecast: Forecast | None = None
    carried_from: CarriedFrom | None = None


@dataclass(frozen=True, slots=True)
class RefView:
    """A namespaced name."""

    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class ObjectiveView:
    """An objective with its key results and the objectives aligned to it."""

    namespace: str
    name: str
    title: str
    description: str
    owner: str
    team: str | None
    weight: float
    rollup: str
    parent: RefView | None
    period: PeriodView
    progress: float | None
    expected_progress: float | None
    grade: float | None
    score: float | None
    health: Health | None
    problem: ProblemView | None
    history: tuple[HistoryPoint, ...]
    key_results: tuple[KeyResultView, ...]
    children: tuple[ObjectiveView, ...]
    commitment: str | None = None
    forecast: Forecast | None = None
    carried_from: CarriedFrom | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One object named in the review: what, whose, where it stands."""

    kind: str
    namespace: str
    name: str
    label: str
    team: str | None
    owner: str
    health: Health | None
    score: float | None
    expected_progress: float | None


@dataclass(frozen=True, slots=True)
class Blocked:
    """A key result whose latest check-in names blockers: who said what, when."""

    item: Item
    blockers: tuple[str, ...]
    check_in: str
    time: datetime
    author: str

    # Where it is, like every other review entry, so filters treat all entries alike.
    @property
    def namespace(self) -> str:
        return self.item.namespace

    @property
    def name(self) -> str:
        return self.item.name


@dataclass(frozen=True, slots=True)
class Transition:
    """A health change seen in the history."""

    time: datetime
    before: Health
    after: Health


@dataclass(frozen=True, slots=True)
class Change:
    """What moved for one object since the start of the review window."""

    kind: str
    namespace: str
    name: str
    label: str
    team: str | None
    owner: str
    health_before: Health | None
    health: Health | None
    transitions: tuple[Transition, ...]
    progress_before: float | None
    progress: float | None
    progress_change: float | None


@dataclass(frozen=True, slots=True)
class Review:
    """The review section.

    ``missed``: committed key results that ended Missed (the postmortem list).
    ``behind``: AtRisk and OffTrack key results. ``changes``: what moved since
    ``since``, biggest progress change first. ``aspirational``: aspirational
    key results (their score is read against 0.7). ``carried_over``: key
    results continued from last period. ``check_ins_due``: key results whose
    owner's check-in is due. ``forecast_misses``: key results whose forecast
    does not reach the success line. ``blockers``: key results whose latest
    check-in names blockers (an older check-in's blockers are superseded).
    """

    since: datetime
    missed: tuple[Item, ...]
    behind: tuple[Item, ...]
    changes: tuple[Change, ...]
    aspirational: tuple[Item, ...] = ()
    carried_over: tuple[Item, ...] = ()
    blockers: tuple[Blocked, ...] = ()
    check_ins_due: tuple[Item, ...] = ()
    forecast_misses: tuple[Item, ...] = ()


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts for the headline: objectives, key results, key results per health."""

    objectives: int
    key_results: int
    health: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class InvalidObject:
    """An object the report cannot place: its spec does not parse or its objective is missing.

    ``message`` names the object and the field, as the operator's parser does.
    """

    kind: str
    namespace: str
    name: str
    message: str


@dataclass(frozen=True, slots=True)
class Report:
    """The whole view model."""

    generated_at: datetime
    period: str | None
    summary: Summary
    objectives: tuple[ObjectiveView, ...]
    review: Review
    invalid: tuple[InvalidObject, ...]


# --- building it -------------------------------------------------------------


def build_report(
    snapshot: Snapshot,
    *,
    now: datetime,
    since: timedelta = timedelta(days=7),
    period: str | None = None,
    series: Mapping[Ref, Sequence[Point]] | None = None,
) -> Report:
    """The view model of ``snapshot`` at ``now``.

    ``period`` (``2026-Q4``) keeps the objectives whose period starts in that
    quarter (in the objective's own time zone) and their key results.
    ``series`` replaces a key result's history points on its chart (from
    Prometheus range queries). ``since`` is how far back "what changed" looks.
    """
    if period is not None and _QUARTER.fullmatch(period) is None:
        raise ValueError(f"invalid period {period!r}: expected YEAR-Qn such as 2026-Q4")
    invalid: list[InvalidObject] = []
    objectives: dict[Ref, ObjectiveSnapshot] = {}
    for obj in sorted(snapshot.objectives, key=lambda o: o.ref):
        if obj.spec is None:
            invalid.append(_invalid("Objective", obj.ref, obj.invalid))
        elif period is None or quarter_of(obj.spec.period) == period:
            objectives[obj.ref] = obj
    members: dict[Ref, list[KeyResultSnapshot]] = {}
    for kr in sorted(snapshot.key_results, key=lambda k: k.ref):
        if kr.spec is None:
            invalid.append(_invalid("KeyResult", kr.ref, kr.invalid))
            continue
        owner = Ref(kr.ref.namespace, kr.spec.objective)
        if owner in objectives:
            members.setdefault(owner, []).append(kr)
        elif period is None:
            message = f"KeyResult {kr.ref}: Objective {owner} (spec.objectiveRef) not found"
            invalid.append(InvalidObject("KeyResult", kr.ref.namespace, kr.ref.name, message))

    children: dict[Ref, list[Ref]] = {}
    roots: list[Ref] = []
    for ref, obj in objectives.items():
        parent = obj.spec.parent if obj.spec is not None else None
        if parent is not None and parent in objectives:
            children.setdefault(parent, []).append(ref)
        else:
            roots.append(ref)
    placed: set[Ref] = set()

    def objective_view(ref: Ref) -> ObjectiveView:
        placed.add(ref)
        obj = objectives[ref]
        team = _team(obj.spec.labels if obj.spec is not None else {})
        commitment = obj.spec.commitment if obj.spec is not None else Commitment.COMMITTED
        krs = tuple(
            _key_result_view(
                kr, team=team, commitment=commitment, series=(series or {}).get(kr.ref)
            )
            for kr in members.get(ref, [])
        )
        # A cycle of parentRefs has no root; it is shown once, from its first member.
        kids = tuple(
            objective_view(child) for child in children.get(ref, []) if child not in placed
        )
        return _objective_view(obj, team=team, key_results=krs, children=kids)

    tree = [objective_view(ref) for ref in roots]
    tree.extend(objective_view(ref) for ref in objectives if ref not in placed)
    key_results = [kr for obj in _walk(tree) for kr in obj.key_results]
    return Report(
        generated_at=now,
        period=period,
        summary=Summary(
            objectives=len(objectives),
            key_results=len(key_results),
            health=_count_healths(kr.health for kr in key_results),
        ),
        objectives=tuple(tree),
        review=_review(tree, key_results, now=now, since=since),
        invalid=tuple(invalid),
    )


def walk_objectives(report: Report) -> list[ObjectiveView]:
    """Every objective of the report, parents before their children (depth first)."""
    return _walk(report.objectives)


def quarter_of(period: Period) -> str:
    """The quarter (``2026-Q4``) in which ``period`` starts, in its own time zone."""
    start = period.start
    return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"


def period_label(period: Period) -> str:
    """``2026-Q4`` for a whole calendar quarter in its zone, else the first and last day."""
    zone = period.start.tzinfo
    if isinstance(zone, ZoneInfo):
        quarter = quarter_of(period)
        if quarter_period(quarter, zone.key) == period:
            return quarter
    last_day = period.end - timedelta(microseconds=1)
    return f"{period.start.date().isoformat()} \u2013 {last_day.date().isoformat()}"


def _walk(objectives: Iterable[ObjectiveView]) -> list[ObjectiveView]:
    out: list[ObjectiveView] = []
    for obj in objectives:
        out.append(obj)
        out.extend(_walk(obj.children))
    return out


def _invalid(kind: str, ref: Ref, message: str | None) -> InvalidObject:
    return InvalidObject(kind, ref.namespace, ref.name, message or "the spec is invalid")


def _team(labels: Mapping[str, str]) -> str | None:
    return labels.get(TEAM_LABEL) or None


def _period_view(period: Period | None) -> PeriodView | None:
    if period is None:
        return None
    return PeriodView(label=period_label(period), start=period.start, end=period.end)


def _problem(status: KeyResultStatus | ObjectiveStatus) -> ProblemView | None:
    ready = get_condition(status.conditions, ConditionType.READY)
    if ready is None or ready.status is not ConditionStatus.FALSE:
        return None
    return ProblemView(reason=ready.reason, message=ready.message)


def _history(points: Sequence[CheckIn]) -> tuple[HistoryPoint, ...]:
    ordered = sorted(points, key=lambda p: p.time.astimezone(UTC))
    return tuple(HistoryPoint(p.time, p.value, p.progress, p.health) for p in ordered)


def _score(status: KeyResultStatus | ObjectiveStatus) -> float | None:
    return status.grade if status.grade is not None else status.progress


def _key_result_view(
    kr: KeyResultSnapshot,
    *,
    team: str | None,
    commitment: Commitment,
    series: Sequence[Point] | None,
) -> KeyResultView:
    spec, status = kr.spec, kr.status
    if spec is None:  # excluded by build_report; keeps the types honest
        raise ValueError(f"KeyResult {kr.ref} has no spec")
    history = _history(status.history)
    baseline = spec.baseline if spec.baseline is not None else status.baseline
    return KeyResultView(
        namespace=kr.ref.namespace,
        name=kr.ref.name,
        objective=spec.objective,
        description=spec.description,
        owner=spec.owner,
        team=_team(spec.labels) or team,
        weight=spec.weight,
        unit=spec.unit,
        direction=spec.direction,
        baseline=baseline,
        target=spec.target,
        value=status.value,
        value_time=status.value_time,
        progress=status.progress,
        expected_progress=status.expected_progress,
        grade=status.grade,
        score=_score(status),
        health=status.health,
        period=_period_view(kr.period),
        problem=_problem(status),
        trajectory=_trajectory(kr, baseline, history, series),
        history=history,
        commitment=(status.commitment or spec.commitment or commitment).value,
        confidence=status.check_in.confidence if status.check_in is not None else None,
        check_in=status.check_in,
        check_in_due=status.check_in_due,
        forecast=status.forecast,
        carried_from=status.carried_from,
    )


def _trajectory(
    kr: KeyResultSnapshot,
    baseline: float | None,
    history: Sequence[HistoryPoint],
    series: Sequence[Point] | None,
) -> Trajectory:
    spec = kr.spec
    if spec is None:
        raise ValueError(f"KeyResult {kr.ref} has no spec")
    if series is not None:
        source = "prometheus"
        points = tuple(sorted(series, key=lambda p: p.time.astimezone(UTC)))
    else:
        source = "history"
        points = tuple(Point(p.time, p.value) for p in history if p.value is not None)
    expected: tuple[Point, ...] = ()
    line = spec.direction in (Direction.STAY_ABOVE, Direction.STAY_BELOW)
    if kr.period is not None and baseline is not None and not line:
        expected = (Point(kr.period.start, baseline), Point(kr.period.end, spec.target))
    return Trajectory(source=source, points=points, expected=expected, target=spec.target)


def _objective_view(
    obj: ObjectiveSnapshot,
    *,
    team: str | None,
    key_results: tuple[KeyResultView, ...],
    children: tuple[ObjectiveView, ...],
) -> ObjectiveView:
    spec, status = obj.spec, obj.status
    if spec is None:
        raise ValueError(f"Objective {obj.ref} has no spec")
    period = _period_view(spec.period)
    if period is None:  # an Objective always has a period
        raise ValueError(f"Objective {obj.ref} has no period")
    parent = spec.parent
    return ObjectiveView(
        namespace=obj.ref.namespace,
        name=obj.ref.name,
        title=spec.title,
        description=spec.description,
        owner=spec.owner,
        team=team,
        weight=spec.weight,
        rollup=spec.rollup.value,
        parent=None if parent is None else RefView(parent.namespace, parent.name),
        period=period,
        progress=status.progress,
        expected_progress=status.expected_progress,
        grade=status.grade,
        score=_score(status),
        health=status.health,
        problem=_problem(status),
        history=_history(status.history),
        key_results=key_results,
        children=children,
        commitment=spec.commitment.value,
        forecast=status.forecast,
        carried_from=status.carried_from,
    )


def _count_healths(healths: Iterable[Health | None]) -> dict[str, int]:
    counts = {health.value: 0 for health in Health}
    for health in healths:
        counts[(health or Health.UNKNOWN).value] += 1
    return counts


# --- the review --------------------------------------------------------------


def _kr_item(kr: KeyResultView) -> Item:
    return Item(
        kind="KeyResult",
        namespace=kr.namespace,
        name=kr.name,
        label=kr.description or kr.name,
        team=kr.team,
        owner=kr.owner,
        health=kr.health,
        score=kr.score,
        expected_progress=kr.expected_progress,
    )


def _review(
    tree: Sequence[ObjectiveView],
    key_results: Sequence[KeyResultView],
    *,
    now: datetime,
    since: timedelta,
) -> Review:
    start = now - since
    aspirational = Commitment.ASPIRATIONAL.value
    missed = [
        _kr_item(kr)
        for kr in key_results
        if kr.health is Health.MISSED and kr.commitment != aspirational
    ]
    # Off track before at risk, then the furthest behind first.
    behind = sorted(
        (kr for kr in key_results if kr.health in BEHIND),
        key=lambda kr: (
            0 if kr.health is Health.OFF_TRACK else 1,
            _lag(kr.score, kr.expected_progress),
            kr.namespace,
            kr.name,
        ),
    )
    changes: list[Change] = []
    for obj in _walk(tree):
        change = _change("Objective", obj, obj.title, start=start, now=now)
        if change is not None:
            changes.append(change)
        for kr in obj.key_results:
            change = _change("KeyResult", kr, kr.description or kr.name, start=start, now=now)
            if change is not None:
                changes.append(change)
    changes.sort(
        key=lambda c: (-abs(c.progress_change or 0.0), -len(c.transitions), c.namespace, c.name)
    )
    return Review(
        since=start,
        missed=tuple(missed),
        behind=tuple(_kr_item(kr) for kr in behind),
        changes=tuple(changes),
        aspirational=tuple(_kr_item(kr) for kr in key_results if kr.commitment == aspirational),
        carried_over=tuple(_kr_item(kr) for kr in key_results if kr.carried_from is not None),
        blockers=tuple(
            Blocked(
                item=_kr_item(kr),
                blockers=kr.check_in.blockers,
                check_in=kr.check_in.name,
                time=kr.check_in.time,
                author=kr.check_in.author,
            )
            for kr in key_results
            if kr.check_in is not None and kr.check_in.blockers
        ),
        check_ins_due=tuple(_kr_item(kr) for kr in key_results if kr.check_in_due),
        forecast_misses=tuple(
            _kr_item(kr)
            for kr in key_results
            if kr.forecast is not None and not kr.forecast.achieves
        ),
    )


def _lag(score: float | None, expected: float | None) -> float:
    """Negative distance behind plan, so that sorting puts the furthest behind first."""
    if score is None or expected is None:
        return 0.0
    return score - expected


def _change(
    kind: str,
    view: KeyResultView | ObjectiveView,
    label: str,
    *,
    start: datetime,
    now: datetime,
) -> Change | None:
    """What moved since ``start``: the history point at or before it against status now.

    The current status is the last point of the series (at ``now``): today's
    history point may be older than the last evaluation.
    """
    history, health, progress = view.history, view.health, view.progress
    before = [p for p in history if p.time <= start]
    inside = [p for p in history if p.time > start]
    baseline = before[-1] if before else None
    series: list[tuple[datetime, Health | None]] = [
        (p.time, p.health) for p in ([baseline] if baseline else []) + inside
    ]
    series.append((now, health))
    transitions = [
        Transition(time=time, before=old, after=new)
        for (_, old), (time, new) in itertools.pairwise(series)
        if old is not None and new is not None and old is not new
    ]
    first = baseline or (inside[0] if inside else None)
    progress_before = first.progress if first is not None else None
    change = None
    if progress is not None and progress_before is not None:
        change = round(progress - progress_before, 4)
    if not transitions and (change is None or abs(change) < MIN_PROGRESS_CHANGE):
        return None
    return Change(
        kind=kind,
        namespace=view.namespace,
        name=view.name,
        label=label,
        team=view.team,
        owner=view.owner,
        health_before=first.health if first is not None else None,
        health=health,
        transitions=tuple(transitions),
        progress_before=progress_before,
        progress=progress,
        progress_change=change,
    )


# --- JSON ----------------------------------------------------------------------


def report_to_json(report: Report) -> dict[str, Any]:
    """The stable JSON form: camelCase keys in declaration order, RFC 3339 UTC times.

    Every field is always present (None as null), so consumers can rely on the
    shape; ``version`` changes only when a field changes meaning or goes away.
    """
    body = _json(report)
    if not isinstance(body, dict):  # a dataclass always becomes a dict
        raise TypeError("report did not serialise to an object")
    return {"version": JSON_VERSION, **body}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_camel(f.name): _json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, Mapping):
        return {str(key): _json(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_json(item) for item in value]
    return value
