"""kopf handlers: parse what the watches deliver and hand it to the engine.

Thin on purpose: every rule lives in ``api`` (parsing, validation) and the
engine (evaluation). The handlers only react to events; kopf keeps no per-object
state for them (no progress, no diff-base, no finalizer), so the operator never
writes metadata of user objects.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import kopf

from okr_operator.adapters.sources import SourceResolver
from okr_operator.api.spec import (
    SpecError,
    parse_key_result,
    parse_objective,
    parse_prometheus_source,
)
from okr_operator.api.status import key_result_status_from_dict, objective_status_from_dict
from okr_operator.domain.model import GROUP, VERSION, KeyResult, Objective, Ref, SourceKind
from okr_operator.services.engine import Engine, Kind

log = logging.getLogger("okr_operator.handlers")
STALL_SECONDS = 120.0


def configure_kopf(settings: kopf.OperatorSettings) -> None:
    """kopf's own bookkeeping goes to status and the okr.dev domain, never to annotations."""
    settings.persistence.progress_storage = kopf.StatusProgressStorage(field="status.kopf.progress")
    settings.persistence.diffbase_storage = kopf.StatusDiffBaseStorage(
        field="status.kopf.last-handled-configuration"
    )
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.posting.reporting_component = "okr-operator"
    # kopf posts its own log lines as Events at INFO by default; ours are
    # posted deliberately (HealthChanged), kopf's only when something is wrong.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330


class Watches:
    """The handlers, bound to one engine and one source resolver."""

    def __init__(self, engine: Engine, sources: SourceResolver) -> None:
        self._engine = engine
        self._sources = sources
        self._seen: dict[tuple[str, Ref], tuple[str, int, str]] = {}

    def register(self, registry: kopf.OperatorRegistry) -> None:
        """Attach every handler to ``registry``."""
        kopf.on.login(registry=registry)(self.login)
        kopf.on.startup(registry=registry)(self.startup)
        kopf.on.probe(id="engine", registry=registry)(self.probe)
        kopf.on.event(GROUP, VERSION, "keyresults", registry=registry)(self.key_result)
        kopf.on.event(GROUP, VERSION, "objectives", registry=registry)(self.objective)
        kopf.on.event(GROUP, VERSION, "prometheussources", registry=registry)(self.source)
        kopf.on.event(GROUP, VERSION, "clusterprometheussources", registry=registry)(self.source)

    @staticmethod
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        """In-cluster ServiceAccount credentials, else the kubeconfig."""
        return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    @staticmethod
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        """Apply our kopf settings."""
        configure_kopf(settings)

    async def probe(self, **_: Any) -> Mapping[str, int]:
        """Liveness: fails when the evaluation loop has stopped turning."""
        stalled = time.monotonic() - self._engine.last_loop
        if stalled > STALL_SECONDS:
            raise RuntimeError(f"the evaluation loop has not run for {stalled:.0f}s")
        return self._engine.counts()

    async def key_result(self, body: kopf.Body, type: str | None, **_: Any) -> None:  # noqa: A002 - kopf's kwarg
        """A KeyResult was listed, added, modified or deleted."""
        self._okr_event("KeyResult", body, type)

    async def objective(self, body: kopf.Body, type: str | None, **_: Any) -> None:  # noqa: A002 - kopf's kwarg
        """An Objective was listed, added, modified or deleted."""
        self._okr_event("Objective", body, type)

    def _okr_event(self, kind: Kind, body: kopf.Body, type_: str | None) -> None:
        ref = _ref(body)
        if type_ == "DELETED":
            self._seen.pop((kind, ref), None)
            self._engine.remove(kind, ref)
            return
        if self._unchanged(kind, ref, body):
            return
        spec: KeyResult | Objective | None = None
        invalid = None
        try:
            spec = parse_key_result(body) if kind == "KeyResult" else parse_objective(body)
        except SpecError as err:
            invalid = str(err)
            log.warning(
                f"{kind} spec is invalid", extra={"object": f"{kind} {ref}", "error": invalid}
            )
        raw = _status(body)
        status = (
            key_result_status_from_dict(raw)
            if kind == "KeyResult"
            else objective_status_from_dict(raw)
        )
        self._engine.upsert(
            kind,
            ref,
            uid=body.metadata.uid or "",
            generation=_generation(body),
            spec=spec,
            invalid=invalid,
            status=status,
        )

    async def source(self, body: kopf.Body, type: str | None, **_: Any) -> None:  # noqa: A002 - kopf's kwarg
        """A (Cluster)PrometheusSource was listed, added, modified or deleted."""
        kind = SourceKind(body.get("kind", SourceKind.PROMETHEUS_SOURCE))
        namespace, name = body.metadata.namespace or "", body.metadata.name or ""
        if type == "DELETED":
            self._sources.remove_source(kind, namespace, name)
            return
        try:
            spec = parse_prometheus_source(body)[1]
        except SpecError as err:
            # Key results naming it report it as not found; its owner fixes it.
            self._sources.remove_source(kind, namespace, name)
            log.warning(
                f"{kind} spec is invalid",
                extra={"object": f"{kind} {namespace}/{name}", "error": str(err)},
            )
            return
        self._sources.set_source(kind, namespace, name, spec)

    def _unchanged(self, kind: str, ref: Ref, body: kopf.Body) -> bool:
        # Our own status writes come back as MODIFIED events; when uid,
        # generation and labels are as before there is nothing to re-parse.
        labels = repr(sorted((body.metadata.labels or {}).items()))
        mark = (body.metadata.uid or "", _generation(body), labels)
        if self._seen.get((kind, ref)) == mark:
            return True
        self._seen[(kind, ref)] = mark
        return False


def build_registry(engine: Engine, sources: SourceResolver) -> kopf.OperatorRegistry:
    """A fresh registry with every handler (no import-time globals)."""
    registry = kopf.OperatorRegistry()
    Watches(engine, sources).register(registry)
    return registry


def _ref(body: kopf.Body) -> Ref:
    return Ref(body.metadata.namespace or "", body.metadata.name or "")


def _generation(body: kopf.Body) -> int:
    return int(body.metadata.get("generation", 1))


def _status(body: kopf.Body) -> Mapping[str, Any] | None:
    status = body.get("status")
    return status if isinstance(status, Mapping) else None
