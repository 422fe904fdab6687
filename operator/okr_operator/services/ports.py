"""The ports the evaluation engine talks through, declared by their consumer.

Adapters in ``okr_operator.adapters`` implement them against Prometheus, the
Kubernetes API and prometheus_client; tests may implement them in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from okr_operator.domain.model import (
    Condition,
    KeyResultStatus,
    ObjectiveStatus,
    Problem,
    QueryLanguage,
    Ref,
    SourceKind,
    SourceRef,
)
from okr_operator.domain.snapshot import KeyResultSnapshot, ObjectiveSnapshot
from okr_operator.domain.sources import PrometheusSourceSpec
from okr_operator.services.kinds import Kind
from okr_operator.services.results import Result


class Clock(Protocol):
    """Wall-clock time; the engine never calls ``datetime.now`` itself."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware."""
        ...


class Querier(Protocol):
    """One Prometheus-compatible endpoint."""

    @property
    def language(self) -> QueryLanguage:
        """The language its server speaks (the source's spec.queryLanguage)."""
        ...

    async def query(self, promql: str, at: datetime) -> Mapping[str, Any]:
        """Run an instant query at ``at`` and return the whole response envelope.

        Transport and HTTP failures come back as an error envelope
        (``{"status": "error", "errorType": ..., "error": ...}``), never as an
        exception, so one bad endpoint is just one bad result.
        """
        ...


@runtime_checkable
class RangeQuerier(Querier, Protocol):
    """A querier that also answers range queries (``/api/v1/query_range``)."""

    async def query_range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> Mapping[str, Any]:
        """The JSON body of a range query; failures come back as error envelopes."""
        ...


class QuerierResolver(Protocol):
    """Finds the endpoint a key result queries."""

    async def resolve(self, namespace: str, source: SourceRef | None) -> Querier | Problem:
        """Return the querier for ``source`` (None: the operator's default).

        Raises ``ApiUnavailableError`` when its Secret or ConfigMap cannot be
        read for a reason that is not the object's (API server down, RBAC).
        """
        ...

    def slot(self, namespace: str, source: SourceRef | None) -> AbstractAsyncContextManager[object]:
        """One of the source's query slots, held for a whole evaluation.

        Each source has slots of its own, so the engine waits for one before it
        takes a global slot: a hanging source then holds only its own.
        """
        ...


class ApiUnavailableError(Exception):
    """What an evaluation needs from the API server (a source's Secret) cannot be read now.

    The API server is down, or the operator lacks the RBAC rule: neither is the
    object's fault, so nothing is written on it; the evaluation is tried again soon.
    """


class WriteFailedError(Exception):
    """A status write did not go through (API server down, forbidden, throttled).

    Its text says why in one line, without a traceback; the engine tries the
    write again soon, with a short backoff, and keeps evaluating on schedule.
    """


class StatusWriter(Protocol):
    """Writes status subresources. Never spec, labels or annotations.

    A write that fails for any reason but the object being gone raises
    ``WriteFailedError``; a gone object raises ``LookupError``.
    """

    async def write_key_result(self, ref: Ref, status: KeyResultStatus) -> None:
        """Merge-patch a KeyResult's status."""
        ...

    async def write_objective(self, ref: Ref, status: ObjectiveStatus) -> None:
        """Merge-patch an Objective's status."""
        ...

    async def write_check_in(
        self, ref: Ref, conditions: tuple[Condition, ...], generation: int
    ) -> None:
        """Merge-patch a CheckIn's status (its conditions and observedGeneration)."""
        ...


class EventSink(Protocol):
    """Kubernetes Events on user objects."""

    async def post(
        self, *, kind: str, ref: Ref, uid: str, type_: str, reason: str, message: str
    ) -> None:
        """Post one Event; the adapter retries one that fails until it is posted."""
        ...


class ListingError(RuntimeError):
    """A kind could not be listed (forbidden, unreachable); the message says which and why."""


class ObjectLister(Protocol):
    """Reads every object of one kind once, in the operator's namespaces (one paged LIST)."""

    async def list_objects(self, plural: str) -> list[Mapping[str, Any]]:
        """Every object of ``plural`` (okr.dev), as the API server returns them.

        Raises ``ListingError`` when the kind cannot be listed.
        """
        ...


class SourceCatalog(Protocol):
    """Where the watches put (Cluster)PrometheusSources; the resolver reads them."""

    def set_source(
        self, kind: SourceKind, namespace: str, name: str, spec: PrometheusSourceSpec
    ) -> None:
        """Record a source as the watch delivered it."""
        ...

    def remove_source(self, kind: SourceKind, namespace: str, name: str) -> None:
        """Forget a deleted (or no longer valid) source."""
        ...


class Observer(Protocol):
    """Sees every change of the registry's objects (the metrics exporter implements it).

    Each call carries an immutable view of one object's whole state as the
    registry holds it; an implementation may render it, but the registry stays
    the owner of the state. There is no separate "restored" call: an object
    read back from its status after a restart is just a change.
    """

    def key_result_changed(self, view: KeyResultSnapshot) -> None:
        """A key result was added, restored, changed spec or period, or got a status."""
        ...

    def key_result_evaluated(
        self, view: KeyResultSnapshot, *, result: Result, seconds: float, lateness: float
    ) -> None:
        """A key result was evaluated: ``view`` is its new state, the rest is for counters."""
        ...

    def key_result_removed(self, ref: Ref) -> None:
        """Drop every series of a deleted key result."""
        ...

    def objective_changed(self, view: ObjectiveSnapshot) -> None:
        """An objective was added, restored, changed spec, or rolled up."""
        ...

    def objective_removed(self, ref: Ref) -> None:
        """Drop every series of a deleted objective."""
        ...

    def status_written(self, kind: Kind) -> None:
        """Count one status patch."""
        ...
