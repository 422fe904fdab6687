"""The metrics exporter: implements ``services.ports.Observer``.

Each object's ``okr_*`` lines are rendered from the engine's snapshot of it
whenever it changes (evaluated, restored after a restart, new spec or period)
and kept per object; a deleted object's lines go with it, so
there is no stale gauge to forget. A scrape concatenates the kept lines after
the operator's own counters and histograms, which stay ordinary
prometheus_client instruments. The lock only guards the two dicts: a scrape
copies references under it and joins outside it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Collection, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from okr_operator import __version__
from okr_operator.adapters.metrics.exposition import (
    KEY_RESULT_FAMILIES,
    OBJECTIVE_FAMILIES,
    Rendered,
    assemble,
    render_key_result,
    render_objective,
)
from okr_operator.domain.model import KeyResult, Ref
from okr_operator.domain.snapshot import KeyResultSnapshot, ObjectiveSnapshot
from okr_operator.services.results import Result

# Key-result families users may turn off (``okr run --disable-metric``).
OPTIONAL_FAMILIES = tuple(family.name for family in KEY_RESULT_FAMILIES)


def optional_families(names: Iterable[str]) -> frozenset[str]:
    """``names`` as key-result families to turn off; ValueError naming any unknown one."""
    wanted = frozenset(names)
    unknown = sorted(wanted - set(OPTIONAL_FAMILIES))
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)}: not a key-result metric family "
            f"(one of {', '.join(OPTIONAL_FAMILIES)})"
        )
    return wanted


_MS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class OkrMetrics:
    """The ``okr_*`` families of every object, plus the operator's own instruments."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, disabled: Collection[str] = ()
    ) -> None:
        self.disabled = optional_families(disabled)
        self.registry = registry or CollectorRegistry()
        self._lock = threading.Lock()
        self._key_results: dict[Ref, tuple[KeyResult, Rendered]] = {}
        self._objectives: dict[Ref, Rendered] = {}
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
            buckets=_MS_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "okr_event_loop_lag_seconds",
            "How late the operator's event loop ran a timer: time it spent busy elsewhere.",
            buckets=_MS_BUCKETS,
            registry=self.registry,
        )
        self.query_errors = Counter(
            "okr_query_errors",
            "Evaluations that produced no usable number, by reason.",
            ["namespace", "objective", "key_result", "reason"],
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

    # ----- Observer ---------------------------------------------------------

    def key_result_changed(self, view: KeyResultSnapshot) -> None:
        """Render a key result's lines from its current state (restored, new spec or period)."""
        kr = view.spec
        if kr is None:  # an invalid spec has no series to show
            self.key_result_removed(view.ref)
            return
        lines = render_key_result(kr, view.period, view.status, self.disabled)
        with self._lock:
            old = self._key_results.get(kr.ref)
            self._key_results[kr.ref] = (kr, lines)
        if old is not None and old[0].objective != kr.objective:
            self._drop_errors(old[0])

    def key_result_evaluated(
        self, view: KeyResultSnapshot, *, result: Result, seconds: float, lateness: float
    ) -> None:
        """Record one evaluation and render the key result's lines."""
        self.key_result_changed(view)
        self.evaluations.labels(result=result.value).inc()
        self.duration.observe(seconds)
        self.lateness.observe(lateness)
        kr = view.spec
        if kr is not None and result.is_problem:
            self.query_errors.labels(
                kr.ref.namespace, kr.objective, kr.ref.name, result.value
            ).inc()

    def key_result_removed(self, ref: Ref) -> None:
        """Drop a deleted key result's lines."""
        with self._lock:
            old = self._key_results.pop(ref, None)
        if old is not None:
            self._drop_errors(old[0])

    def objective_changed(self, view: ObjectiveSnapshot) -> None:
        """Render an objective's lines from its current state (restored, new spec, rolled up)."""
        if view.spec is None:
            self.objective_removed(view.ref)
            return
        lines = render_objective(view.spec, view.status)
        with self._lock:
            self._objectives[view.ref] = lines

    def objective_removed(self, ref: Ref) -> None:
        """Drop a deleted objective's lines."""
        with self._lock:
            self._objectives.pop(ref, None)

    def status_written(self, kind: str) -> None:
        """Count one status patch."""
        self.status_writes.labels(kind=kind).inc()

    def _drop_errors(self, kr: KeyResult) -> None:
        for labels in list(self.query_errors._metrics):
            if labels[:3] == (kr.ref.namespace, kr.objective, kr.ref.name):
                self.query_errors.remove(*labels)

    # ----- the exposition ---------------------------------------------------

    def objects_exposition(self, only: Collection[str] | None = None) -> bytes:
        """The ``okr_key_result_*`` and ``okr_objective_*`` families of every object."""
        with self._lock:
            key_results = [lines for _kr, lines in self._key_results.values()]
            objectives = list(self._objectives.values())
        parts = assemble(KEY_RESULT_FAMILIES, key_results, disabled=self.disabled, only=only)
        parts += assemble(OBJECTIVE_FAMILIES, objectives, only=only)
        return b"".join(parts)

    def exposition(self, only: Iterable[str] | None = None) -> bytes:
        """All of /metrics: the operator's own instruments, then every object's lines.

        ``only`` keeps the named families and samples (``/metrics?name[]=...``),
        as prometheus_client's server did.
        """
        names = None if only is None else frozenset(only)
        own = generate_latest(
            self.registry if names is None else self.registry.restricted_registry(names)
        )
        return own + self.objects_exposition(names)

    # ----- the event loop ---------------------------------------------------

    async def watch_event_loop(self, period: float = 0.25) -> None:
        """Observe, every ``period``, how late the event loop woke a sleeping task.

        The lag is the time the loop spent on other callbacks (or the process
        lost the CPU or the GIL): what every evaluation and watch event waits.
        """
        while True:
            started = time.monotonic()
            await asyncio.sleep(period)
            self.loop_lag.observe(max(0.0, time.monotonic() - started - period))
