"""The web view's pages: the alignment map (filtered) and one page per key result.

Pure functions of a snapshot and a request's path and query: the HTTP server
(``adapters/web.py``) hands in the engine's own snapshot, so a page never reads
the API server. The map is the scorecard page of ``okr report --format html``
with a filter form (plain GET, no JavaScript); key results link to their own
page, which carries the trajectory chart, the conditions and the history.
Nothing beyond what status shows is rendered: no spec query, no source, no
credential.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import quote, unquote

from okr_operator.domain.model import Health, Ref
from okr_operator.domain.snapshot import Snapshot
from okr_operator.reporting.page import Linked, render_html, render_key_result_page
from okr_operator.reporting.view import (
    KeyResultView,
    ObjectiveView,
    Report,
    Summary,
    build_report,
    walk_objectives,
)

TITLE = "OKR alignment map"
# The paths okr digest --web-url links to.
KR_PREFIX = "/keyresults/"
OBJECTIVE_PREFIX = "/objectives/"


@dataclass(frozen=True, slots=True)
class Filters:
    """The map's filters; None matches everything."""

    namespace: str | None = None
    team: str | None = None
    health: Health | None = None

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(v is not None for v in (self.namespace, self.team, self.health))


@dataclass(frozen=True, slots=True)
class Page:
    """An HTTP answer: status code and HTML."""

    status: int
    html: str


def parse_filters(query: Mapping[str, str]) -> Filters:
    """Filters from ``?namespace=&team=&health=``; an empty or unknown health is no filter."""
    health = query.get("health") or None
    return Filters(
        namespace=query.get("namespace") or None,
        team=query.get("team") or None,
        health=Health(health) if health in {h.value for h in Health} else None,
    )


def kr_href(kr: Linked) -> str:
    """The path of a key result's page."""
    return f"{KR_PREFIX}{quote(kr.namespace, safe='')}/{quote(kr.name, safe='')}"


def render_page(
    snapshot: Snapshot,
    path: str,
    query: Mapping[str, str],
    *,
    now: datetime,
    since: timedelta = timedelta(days=7),
) -> Page:
    """The page for ``path``, else a 404 page.

    ``/``: the map; ``/objectives/<namespace>/<name>``: the map of that objective
    and what is under it; ``/keyresults/<namespace>/<name>``: a key result's page.
    """
    report = build_report(snapshot, now=now, since=since)
    if path in ("/", ""):
        return Page(200, render_map(report, parse_filters(query)))
    if path.startswith(OBJECTIVE_PREFIX):
        ref = _ref(path[len(OBJECTIVE_PREFIX) :])
        for obj in walk_objectives(report):
            if (obj.namespace, obj.name) == (ref.namespace, ref.name):
                subtree = summarised(replace(report, objectives=(obj,)))
                return Page(200, render_map(subtree, parse_filters(query)))
        return _not_found(f"No objective {ref.namespace}/{ref.name}.")
    if path.startswith(KR_PREFIX):
        ref = _ref(path[len(KR_PREFIX) :])
        for obj in walk_objectives(report):
            for kr in obj.key_results:
                if (kr.namespace, kr.name) == (ref.namespace, ref.name):
                    conditions = next(
                        (k.status.conditions for k in snapshot.key_results if k.ref == ref), ()
                    )
                    html = render_key_result_page(
                        kr, objective=obj.title, conditions=conditions, now=now, title=TITLE
                    )
                    return Page(200, html)
        return _not_found(f"No key result {ref.namespace}/{ref.name}.")
    return _not_found("No such page.")


def render_map(report: Report, filters: Filters) -> str:
    """The alignment map: the scorecard page of the objectives that match, with the form."""
    everything = walk_objectives(report)
    shown = filter_report(report, filters)
    kept = [kr for obj in walk_objectives(shown) for kr in obj.key_results]
    total = sum(len(obj.key_results) for obj in everything)
    web = {
        "namespaces": sorted({obj.namespace for obj in everything}),
        "teams": sorted(
            {o.team for o in everything if o.team}
            | {kr.team for o in everything for kr in o.key_results if kr.team}
        ),
        "healths": [h.value for h in Health],
        "namespace": filters.namespace,
        "team": filters.team,
        "health": filters.health.value if filters.health else None,
        "filtered": filters.active,
        "shown": f"Showing {len(kept)} of {total} key results"
        f" in {len(walk_objectives(shown))} of {len(everything)} objectives.",
    }
    scope = "filtered" if filters.active else "all namespaces"
    return render_html(shown, title=TITLE, scope=scope, web=web, kr_href=kr_href)


def filter_report(report: Report, filters: Filters) -> Report:
    """The report with only what matches: key results that match, and the objectives
    that match or lead to one that does (so the map keeps its shape)."""
    if not filters.active:
        return report

    def matches(item: ObjectiveView | KeyResultView) -> bool:
        return (
            (filters.namespace is None or item.namespace == filters.namespace)
            and (filters.team is None or item.team == filters.team)
            and (filters.health is None or item.health == filters.health)
        )

    def prune(obj: ObjectiveView) -> ObjectiveView | None:
        children = tuple(c for c in (prune(child) for child in obj.children) if c is not None)
        krs = tuple(kr for kr in obj.key_results if matches(kr))
        if not (children or krs or matches(obj)):
            return None
        return replace(obj, children=children, key_results=krs)

    roots = tuple(r for r in (prune(obj) for obj in report.objectives) if r is not None)
    return summarised(replace(report, objectives=roots))


def summarised(report: Report) -> Report:
    """The report with its summary and review about only the objectives it holds."""
    objectives = walk_objectives(report)
    key_results = [kr for obj in objectives for kr in obj.key_results]
    summary = Summary(
        objectives=len(objectives),
        key_results=len(key_results),
        health=_count(kr.health for kr in key_results),
    )
    held = {(o.namespace, o.name) for o in objectives} | {
        (kr.namespace, kr.name) for kr in key_results
    }
    kept: dict[str, Any] = {}
    for field in fields(report.review):
        items = getattr(report.review, field.name)
        if isinstance(items, tuple):
            kept[field.name] = tuple(i for i in items if (i.namespace, i.name) in held)
    return replace(report, summary=summary, review=replace(report.review, **kept))


def _count(healths: Iterable[Health | None]) -> dict[str, int]:
    counts = {h.value: 0 for h in Health}
    for health in healths:
        counts[(health or Health.UNKNOWN).value] += 1
    return counts


def _ref(rest: str) -> Ref:
    namespace, _, name = rest.partition("/")
    return Ref(unquote(namespace), unquote(name))


def _not_found(message: str) -> Page:
    return Page(
        404,
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found</title>'
        f'</head><body><h1>Not found</h1><p>{escape(message)}</p><p><a href="/">{TITLE}</a></p>'
        "</body></html>",
    )
