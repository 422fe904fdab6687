"""kopf handlers: parse what the watches deliver and hand it to the engine.

Thin on purpose: every rule lives in ``api`` (parsing, validation) and the
engine (evaluation). The handlers only react to events; kopf keeps no per-object
state for them (no progress, no diff-base, no finalizer), so the operator never
writes metadata of user objects.

Objects arrive through kopf's event handlers, and once more, when this
replica becomes the active one, through ``restore``: one paged LIST per kind,
fed to the engine before it starts evaluating, so no objective is rolled up
before its key results are known (that is what keeps a restart silent). The
engine starts when ``kopf_state.lead`` sees kopf watching every kind in
``WATCHED_PLURALS``, this replica active and ``restore`` done. kopf's *index*
handlers would give a listed moment of their own, but their readiness
bookkeeping (one toggle per listed object, all re-checked on every change) is
quadratic: measured, a restart restored 3,000 key results in 64 s and 10,000
not within 600 s. An object seen again with the same uid, generation and
labels is not parsed again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, cast

import kopf

from okr_operator.api.spec import (
    SpecError,
    parse_check_in,
    parse_key_result,
    parse_objective,
    parse_prometheus_source,
)
from okr_operator.api.status import (
    check_in_conditions_from_dict,
    key_result_status_from_dict,
    objective_status_from_dict,
)
from okr_operator.domain.model import GROUP, VERSION, Ref, SourceKind
from okr_operator.services.engine import Engine
from okr_operator.services.kinds import Kind
from okr_operator.services.ports import ListingError, ObjectLister, SourceCatalog

log = logging.getLogger("okr_operator.handlers")
STALL_SECONDS = 120.0
# Every kind the operator watches; it is ready once kopf has listed them all.
WATCHED_PLURALS = (
    "keyresults",
    "objectives",
    "checkins",
    "prometheussources",
    "clusterprometheussources",
)


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
    """The handlers, bound to one engine and one source catalog."""

    def __init__(self, engine: Engine, sources: SourceCatalog) -> None:
        self._engine = engine
        self._sources = sources
        self._seen: dict[tuple[Kind, Ref], tuple[str, int, str]] = {}

    def register(self, registry: kopf.OperatorRegistry) -> None:
        """Attach every handler to ``registry``."""
        kopf.on.login(registry=registry)(self.login)
        kopf.on.startup(registry=registry)(self.startup)
        kopf.on.probe(id="engine", registry=registry)(self.probe)
        handlers = (
            self.key_result_event,
            self.objective_event,
            self.check_in_event,
            self.source_event,
            self.source_event,
        )
        for plural, event in zip(WATCHED_PLURALS, handlers, strict=True):
            kopf.on.event(GROUP, VERSION, plural, registry=registry)(event)

    async def restore(self, lister: ObjectLister) -> None:
        """List every kind once and feed the engine, sources first, objectives last.

        A kind that cannot be listed is logged and skipped: the access review
        makes the operator unready for it, and the watches still deliver it.
        """
        started = time.monotonic()
        arrivals = {
            "prometheussources": self.source,
            "clusterprometheussources": self.source,
            "keyresults": self.key_result,
            "checkins": self.check_in,
            "objectives": self.objective,
        }
        counts: dict[str, int] = {}
        for plural, arrived in arrivals.items():
            try:
                listed = await lister.list_objects(plural)
            except ListingError as err:
                log.warning("Cannot list a kind to restore it", extra={"error": str(err)})
                continue
            for obj in listed:
                await arrived(kopf.Body(cast(kopf.RawBody, dict(obj))))
            counts[plural] = len(listed)
        seconds = round(time.monotonic() - started, 2)
        log.info("Listed every kind", extra={"counts": counts, "seconds": seconds})

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

    # ----- arrivals (the watches, and restore) -------------------------------

    async def key_result(self, body: kopf.Body, **_: Any) -> None:
        """A KeyResult was listed, added or modified."""
        ref = _ref(body)
        if self._unchanged(Kind.KEY_RESULT, ref, body):
            return
        try:
            spec, invalid = parse_key_result(body), None
        except SpecError as err:
            spec, invalid = None, _invalid(Kind.KEY_RESULT, ref, err)
        self._engine.upsert_key_result(
            ref,
            uid=body.metadata.uid or "",
            generation=_generation(body),
            spec=spec,
            invalid=invalid,
            status=key_result_status_from_dict(_status(body)),
        )

    async def objective(self, body: kopf.Body, **_: Any) -> None:
        """An Objective was listed, added or modified."""
        ref = _ref(body)
        if self._unchanged(Kind.OBJECTIVE, ref, body):
            return
        try:
            spec, invalid = parse_objective(body), None
        except SpecError as err:
            spec, invalid = None, _invalid(Kind.OBJECTIVE, ref, err)
        self._engine.upsert_objective(
            ref,
            uid=body.metadata.uid or "",
            generation=_generation(body),
            spec=spec,
            invalid=invalid,
            status=objective_status_from_dict(_status(body)),
        )

    async def check_in(self, body: kopf.Body, **_: Any) -> None:
        """A CheckIn was listed, added or modified."""
        ref = _ref(body)
        if self._unchanged(Kind.CHECK_IN, ref, body):
            return
        try:
            spec, invalid = parse_check_in(body), None
        except SpecError as err:
            spec, invalid = None, _invalid(Kind.CHECK_IN, ref, err)
        self._engine.upsert_check_in(
            ref,
            uid=body.metadata.uid or "",
            generation=_generation(body),
            spec=spec,
            invalid=invalid,
            conditions=check_in_conditions_from_dict(_status(body)),
        )

    async def source(self, body: kopf.Body, **_: Any) -> None:
        """A (Cluster)PrometheusSource was listed, added or modified."""
        kind = SourceKind(body.get("kind", SourceKind.PROMETHEUS_SOURCE))
        namespace, name = body.metadata.namespace or "", body.metadata.name or ""
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

    # ----- events (deletions, and the end of the initial listing) -----------

    async def key_result_event(self, body: kopf.Body, type: str | None, **_: Any) -> None:  # noqa: A002 - kopf's kwarg
        """A KeyResult listed, added, modified or deleted."""
        if type != "DELETED":
            await self.key_result(body)
            return
        ref = _ref(body)
        self._seen.pop((Kind.KEY_RESULT, ref), None)
        self._engine.remove_key_result(ref)

    async def objective_event(self, body: kopf.Body, type: str | None, **_: Any) -> None:  # noqa: A002 - kopf's kwarg
        """An Objective listed, added, modified or deleted."""
        if type != "DELETED":
            await self.objective(body)
            return
        ref = _ref(body)
        self._seen.pop((Kind.OBJECTIVE, ref), None)
        self._engine.remove_objective(ref)

    async def check_in_event(self, body: kopf.Body, type: str | None, **_: Any) -> None:  # noqa: A002 - kopf's kwarg
        """A CheckIn listed, added, modified or deleted."""
        if type != "DELETED":
            await self.check_in(body)
            return
        ref = _ref(body)
        self._seen.pop((Kind.CHECK_IN, ref), None)
        self._engine.remove_check_in(ref)

    async def source_event(self, body: kopf.Body, type: str | None, **_: Any) -> None:  # noqa: A002 - kopf's kwarg
        """A source listed, added, modified or deleted."""
        if type != "DELETED":
            await self.source(body)
            return
        kind = SourceKind(body.get("kind", SourceKind.PROMETHEUS_SOURCE))
        self._sources.remove_source(kind, body.metadata.namespace or "", body.metadata.name or "")

    def _unchanged(self, kind: Kind, ref: Ref, body: kopf.Body) -> bool:
        # Our own status writes come back as MODIFIED events; when uid,
        # generation and labels are as before there is nothing to re-parse.
        labels = repr(sorted((body.metadata.labels or {}).items()))
        mark = (body.metadata.uid or "", _generation(body), labels)
        if self._seen.get((kind, ref)) == mark:
            return True
        self._seen[(kind, ref)] = mark
        return False


def build_registry(engine: Engine, sources: SourceCatalog) -> tuple[kopf.OperatorRegistry, Watches]:
    """A fresh registry with every handler (no import-time globals), and the handlers."""
    registry = kopf.OperatorRegistry()
    watches = Watches(engine, sources)
    watches.register(registry)
    return registry, watches


def _invalid(kind: Kind, ref: Ref, err: SpecError) -> str:
    log.warning(f"{kind} spec is invalid", extra={"object": f"{kind} {ref}", "error": str(err)})
    return str(err)


def _ref(body: kopf.Body) -> Ref:
    return Ref(body.metadata.namespace or "", body.metadata.name or "")


def _generation(body: kopf.Body) -> int:
    return int(body.metadata.get("generation", 1))


def _status(body: kopf.Body) -> Mapping[str, Any] | None:
    status = body.get("status")
    return status if isinstance(status, Mapping) else None
