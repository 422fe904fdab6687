"""Trajectories at full resolution: one Prometheus range query per key result.

``status.history`` keeps one point a day; with ``okr report --prometheus URL``
the chart shows the key result's own query over its period at its evaluation
interval instead (at most 11,000 points, Prometheus' limit per range query).
Queries using ``$__elapsed`` cannot be replayed as a range (their window grows
with each instant), and key results with a ``spec.sourceRef`` query another
source with its own credentials: both keep their history, and the reason is
returned so that the command can say so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from okr_operator.domain.model import Ref
from okr_operator.domain.snapshot import KeyResultSnapshot, Snapshot
from okr_operator.reporting.view import Point

MAX_POINTS = 11_000
TIMEOUT_SECONDS = 60


def range_series(
    snapshot: Snapshot, url: str, *, now: datetime, session: requests.Session | None = None
) -> tuple[dict[Ref, list[Point]], list[str]]:
    """Points per key result, and one line per key result that keeps its history (why)."""
    http = session or requests.Session()
    series: dict[Ref, list[Point]] = {}
    skipped: list[str] = []
    for kr in sorted(snapshot.key_results, key=lambda k: k.ref):
        why = _unsupported(kr)
        if why is None:
            try:
                series[kr.ref] = _query(http, url.rstrip("/"), kr, now=now)
                continue
            except (requests.RequestException, ValueError) as err:
                why = f"the range query failed: {err}"
        skipped.append(f"KeyResult {kr.ref}: history points only ({why})")
    return series, skipped


def _unsupported(kr: KeyResultSnapshot) -> str | None:
    if kr.spec is None or kr.period is None:
        return "no valid spec or period"
    if kr.spec.manual:
        return "a manual key result, measured by its check-ins, has no query to replay"
    if "$__elapsed" in kr.spec.query:
        return "its query uses $__elapsed, which a range query cannot replay"
    if kr.spec.source is not None:
        return f"it queries {kr.spec.source.kind} {kr.spec.source.name}, not --prometheus"
    return None


def step_for(start: datetime, end: datetime, interval: timedelta) -> int:
    """The evaluation interval in whole seconds, widened to stay within MAX_POINTS."""
    span = (end - start).total_seconds()
    return max(1, math.ceil(interval.total_seconds()), math.ceil(span / MAX_POINTS))


def _query(
    http: requests.Session, url: str, kr: KeyResultSnapshot, *, now: datetime
) -> list[Point]:
    if kr.spec is None or kr.period is None:
        raise ValueError("no spec")
    start = kr.period.start.astimezone(UTC)
    end = min(now, kr.period.end).astimezone(UTC)
    if end <= start:
        return []
    response = http.get(
        f"{url}/api/v1/query_range",
        params={
            "query": kr.spec.query,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": str(step_for(start, end, kr.spec.interval)),
        },
        timeout=TIMEOUT_SECONDS,
    )
    body: Mapping[str, Any] = response.json()
    if body.get("status") != "success":
        raise ValueError(str(body.get("error") or f"HTTP {response.status_code}"))
    result = body.get("data", {}).get("result", [])
    if len(result) != 1:
        raise ValueError(f"{len(result)} series, the chart needs exactly one")
    points = []
    for stamp, text in result[0].get("values", []):
        value = float(text)
        if math.isfinite(value):
            points.append(Point(datetime.fromtimestamp(float(stamp), UTC), value))
    return points
