"""The OKR metrics: every number of spec and status, for Grafana and Alertmanager.

A custom collector renders the latest evaluation of every object at scrape
time, so a deleted object's series disappear with it and there is no stale
gauge to forget. The operator's own counters and histograms are ordinary
instrumented metrics. Everything lives in one registry served by
prometheus_client's HTTP server in its own thread (kopf's event loop is not
shared with anything else).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from okr_operator import __version__
from okr_operator.domain.model import (
    Health,
    KeyResult,
    KeyResultStatus,
    Objective,
    ObjectiveStatus,
    Period,
    Ref,
)

KR_LABELS = ("namespace", "objective", "key_result")
OBJ_LABELS = ("namespace", "objective")
_LABEL_NAME = re.compile(r"[^a-zA-Z0-9_]")
_RESERVED = frozenset(
    {*KR_LABELS, "owner", "unit", "direction", "title", "parent", "parent_namespace", "health"}
)


def user_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """Turn ``okr.dev/`` labels (prefix already stripped) into Prometheus labels.

    Characters Prometheus does not allow become ``_``; a name that would
    collide with one of ours gets a ``label_`` prefix instead of replacing it.
    """
    out: dict[str, str] = {}
    for key, value in sorted(labels.items()):
        name = _LABEL_NAME.sub("_", key)
        if not name or name[0].isdigit():
            name = f"_{name}"
        if name in _RESERVED or name.startswith("__"):
            name = f"label_{name.lstrip('_')}"
        out[name] = value
    return out


def _ts(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


@dataclass(frozen=True, slots=True)
class _KeyResultSnapshot:
    kr: KeyResult
    period: Period | None
    status: KeyResultStatus
    restored: bool = False  # read back from the object, not evaluated by us yet


@dataclass(frozen=True, slots=True)
class _ObjectiveSnapshot:
    obj: Objective
    status: ObjectiveStatus


class OkrMetrics(Collector):
    """Implements ``services.ports.Observer`` and renders the ``okr_*`` families."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._lock = threading.Lock()
        self._key_results: dict[Ref, _KeyResultSnapshot] = {}
        self._objectives: dict[Ref, _ObjectiveSnapshot] = {}
        self.evaluations = Counter(
            "okr_evaluations",
            "Key result evaluations by result.",
            ["result"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "okr_evaluation_duration_seconds",
            "Time one key result evaluation took, queries included.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.lateness = Histogram(
            "okr_evaluation_lateness_seconds",
            "How long after its scheduled time an evaluation started.",
            # Healthy lateness is a few milliseconds; the low buckets resolve it.
            buckets=(
                0.001,
                0.0025,
                0.005,
                0.01,
                0.025,
                0.05,
                0.1,
                0.25,
                0.5,
                1,
                2.5,
                5,
                10,
                30,
                60,
            ),
            registry=self.registry,
        )
        self.query_errors = Counter(
            "okr_query_errors",
            "Evaluations that produced no usable number, by reason.",
            [*KR_LABELS, "reason"],
            registry=self.registry,
        )
        self.status_writes = Counter(
            "okr_status_writes",
            "Status patches sent to the API server.",
            ["kind"],
            registry=self.registry,
        )
        build = Gauge(
            "okr_build_info", "The running operator's version.", ["version"], registry=self.registry
        )
        build.labels(version=__version__).set(1)
        self.registry.register(self)

    # ----- Observer ---------------------------------------------------------

    def key_result_evaluated(
        self,
        kr: KeyResult,
        period: Period | None,
        status: KeyResultStatus,
        *,
        result: str,
        seconds: float,
        lateness: float,
    ) -> None:
        """Record one evaluation."""
        with self._lock:
            old = self._key_results.get(kr.ref)
            if old is not None and old.kr.objective != kr.objective:
                self._drop_errors(old.kr)
            self._key_results[kr.ref] = _KeyResultSnapshot(kr, period, status)
        self.evaluations.labels(result=result).inc()
        self.duration.observe(seconds)
        self.lateness.observe(lateness)
        if result not in ("success", "pending", "frozen"):
            self.query_errors.labels(kr.ref.namespace, kr.objective, kr.ref.name, result).inc()

    def key_result_restored(
        self, kr: KeyResult, period: Period | None, status: KeyResultStatus
    ) -> None:
        """Export a status read back from the object; counts no evaluation."""
        with self._lock:
            current = self._key_results.get(kr.ref)
            if current is None or current.restored:
                self._key_results[kr.ref] = _KeyResultSnapshot(kr, period, status, restored=True)

    def key_result_removed(self, ref: Ref) -> None:
        """Drop a deleted key result's series."""
        with self._lock:
            old = self._key_results.pop(ref, None)
        if old is not None:
            self._drop_errors(old.kr)

    def objective_evaluated(self, obj: Objective, status: ObjectiveStatus) -> None:
        """Record one rollup."""
        with self._lock:
            self._objectives[obj.ref] = _ObjectiveSnapshot(obj, status)

    def objective_removed(self, ref: Ref) -> None:
        """Drop a deleted objective's series."""
        with self._lock:
            self._objectives.pop(ref, None)

    def status_written(self, kind: str) -> None:
        """Count one status patch."""
        self.status_writes.labels(kind=kind).inc()

    def _drop_errors(self, kr: KeyResult) -> None:
        for labels in list(self.query_errors._metrics):
            if labels[:3] == (kr.ref.namespace, kr.objective, kr.ref.name):
                self.query_errors.remove(*labels)

    # ----- Collector --------------------------------------------------------

    def describe(self) -> list[Metric]:
        """Nothing to describe up front: families come from live objects."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Render every object's latest evaluation."""
        with self._lock:
            key_results = list(self._key_results.values())
            objectives = list(self._objectives.values())
        yield from _key_result_families(key_results)
        yield from _objective_families(objectives)


def _gauge(name: str, doc: str, labels: tuple[str, ...]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _key_result_families(items: list[_KeyResultSnapshot]) -> Iterator[Metric]:
    numbers = {
        "value": "The key result's last good value.",
        "value_timestamp_seconds": "When the last good value was measured.",
        "target": "spec.target.",
        "baseline": "spec.baseline, or the baseline captured at the period start.",
        "progress_ratio": "Progress from baseline to target, 0 to 1.",
        "expected_progress_ratio": "Share of the period elapsed, 0 to 1.",
        "grade_ratio": "The final grade after the period ended, 0 to 1.",
        "weight": "spec.weight, the share in the objective's rollup.",
        "interval_seconds": "spec.interval.",
        "at_risk_lag_ratio": "spec.health.atRiskLag.",
        "off_track_lag_ratio": "spec.health.offTrackLag.",
        "period_start_timestamp_seconds": "Start of the key result's period.",
        "period_end_timestamp_seconds": "End of the key result's period.",
        "last_evaluation_timestamp_seconds": "When the operator last evaluated the key result.",
    }
    families = {k: _gauge(f"okr_key_result_{k}", doc, KR_LABELS) for k, doc in numbers.items()}
    health = _gauge(
        "okr_key_result_health", "1 for the key result's current health.", (*KR_LABELS, "health")
    )
    infos: list[tuple[list[str], list[str]]] = []
    for item in items:
        kr, status, period = item.kr, item.status, item.period
        key = [kr.ref.namespace, kr.objective, kr.ref.name]
        values: dict[str, float | None] = {
            "value": status.value,
            "value_timestamp_seconds": _ts(status.value_time),
            "target": kr.target,
            "baseline": kr.baseline if kr.baseline is not None else status.baseline,
            "progress_ratio": status.progress,
            "expected_progress_ratio": status.expected_progress,
            "grade_ratio": status.grade,
            "weight": kr.weight,
            "interval_seconds": kr.interval.total_seconds(),
            "at_risk_lag_ratio": kr.lags.at_risk,
            "off_track_lag_ratio": kr.lags.off_track,
            "period_start_timestamp_seconds": _ts(period.start) if period else None,
            "period_end_timestamp_seconds": _ts(period.end) if period else None,
            "last_evaluation_timestamp_seconds": _ts(status.last_evaluation_time),
        }
        for name, number in values.items():
            if number is not None:
                families[name].add_metric(key, number)
        current = status.health or Health.UNKNOWN
        for state in Health:
            health.add_metric([*key, state.value], 1.0 if state is current else 0.0)
        direction = kr.direction.value if kr.direction else ""
        extra = user_labels(kr.labels)
        infos.append(
            (
                [*KR_LABELS, "owner", "unit", "direction", *extra],
                [*key, kr.owner, kr.unit, direction, *extra.values()],
            )
        )
    yield from families.values()
    yield health
    yield from _info_families("okr_key_result_info", "Key result metadata.", infos)


def _objective_families(items: list[_ObjectiveSnapshot]) -> Iterator[Metric]:
    numbers = {
        "progress_ratio": "Weighted progress of the objective's members, 0 to 1.",
        "expected_progress_ratio": "Share of the objective's period elapsed, 0 to 1.",
        "grade_ratio": "The final grade after the period ended, 0 to 1.",
        "weight": "spec.weight, the share in the parent's rollup.",
        "period_start_timestamp_seconds": "Start of the objective's period.",
        "period_end_timestamp_seconds": "End of the objective's period.",
        "last_evaluation_timestamp_seconds": "When the operator last rolled the objective up.",
    }
    families = {k: _gauge(f"okr_objective_{k}", doc, OBJ_LABELS) for k, doc in numbers.items()}
    health = _gauge(
        "okr_objective_health", "1 for the objective's current health.", (*OBJ_LABELS, "health")
    )
    members = _gauge(
        "okr_objective_key_results",
        "The objective's own key results per health.",
        (*OBJ_LABELS, "health"),
    )
    infos: list[tuple[list[str], list[str]]] = []
    for item in items:
        obj, status = item.obj, item.status
        key = [obj.ref.namespace, obj.ref.name]
        values: dict[str, float | None] = {
            "progress_ratio": status.progress,
            "expected_progress_ratio": status.expected_progress,
            "grade_ratio": status.grade,
            "weight": obj.weight,
            "period_start_timestamp_seconds": obj.period.start.timestamp(),
            "period_end_timestamp_seconds": obj.period.end.timestamp(),
            "last_evaluation_timestamp_seconds": _ts(status.last_evaluation_time),
        }
        for name, number in values.items():
            if number is not None:
                families[name].add_metric(key, number)
        current = status.health or Health.UNKNOWN
        for state in Health:
            health.add_metric([*key, state.value], 1.0 if state is current else 0.0)
            members.add_metric([*key, state.value], float(status.key_results.get(state.value, 0)))
        parent = obj.parent
        extra = user_labels(obj.labels)
        infos.append(
            (
                [*OBJ_LABELS, "title", "owner", "parent_namespace", "parent", *extra],
                [
                    *key,
                    obj.title,
                    obj.owner,
                    parent.namespace if parent else "",
                    parent.name if parent else "",
                    *extra.values(),
                ],
            )
        )
    yield from families.values()
    yield health
    yield members
    yield from _info_families("okr_objective_info", "Objective metadata and alignment.", infos)


def _info_families(
    name: str, doc: str, rows: list[tuple[list[str], list[str]]]
) -> Iterator[Metric]:
    # Objects carry different user labels, and a family has one label set, so
    # rows are grouped by their label names; the exposition merges them under
    # one metric name, which Prometheus accepts.
    groups: dict[tuple[str, ...], GaugeMetricFamily] = {}
    for names, values in rows:
        family = groups.get(tuple(names))
        if family is None:
            family = groups[tuple(names)] = GaugeMetricFamily(name, doc, labels=names)
        family.add_metric(values, 1.0)
    if not groups:
        return
    # One family per name: merge samples of all groups into the first.
    first, *rest = groups.values()
    for family in rest:
        first.samples.extend(family.samples)
    yield first
