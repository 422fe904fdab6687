"""Kubernetes API calls the engine makes: status patches, Events, Secret reads.

kopf watches the objects; these writes go through the official client so
that they are plain, typed REST calls we control (merge patches of the status
subresource only, Events with our own reporting component). The client is
synchronous, so calls run in a small dedicated thread pool.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import fnmatch
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from okr_operator.adapters.access import Permissions, Rule
from okr_operator.api.status import (
    check_in_status_to_dict,
    key_result_status_to_dict,
    objective_status_to_dict,
)
from okr_operator.domain.model import (
    GROUP,
    VERSION,
    Condition,
    KeyResultStatus,
    ObjectiveStatus,
    Ref,
)
from okr_operator.domain.text import printable
from okr_operator.services.ports import ApiUnavailableError, ListingError, WriteFailedError

log = logging.getLogger("okr_operator.kube")
T = TypeVar("T")
COMPONENT = "okr-operator"
PEERING_GROUP = "kopf.dev"
# Events waiting for the API server to take them; beyond this many the oldest
# is dropped (and logged), so an endless outage cannot grow memory.
MAX_PENDING_EVENTS = 1000
EVENT_RETRY_FIRST = 1.0
EVENT_RETRY_MAX = 30.0
# Answers after which posting the same Event again may succeed.
_TRANSIENT = {403, 408, 429, 500, 502, 503, 504}
# What the client raises when the API server cannot be reached at all.
_UNREACHABLE = (urllib3.exceptions.HTTPError, OSError)


CoreV1Event = client.CoreV1Event


def _reason(err: BaseException) -> str:
    # urllib3 wraps the socket error: the innermost says what happened.
    seen: BaseException = err
    while getattr(seen, "reason", None) is not None and isinstance(seen.reason, BaseException):  # type: ignore[attr-defined]
        seen = seen.reason  # type: ignore[attr-defined]
    return printable(str(seen), 300)


class NotFoundError(LookupError):
    """The object read does not exist."""


def load_api_client() -> client.ApiClient:
    """In-cluster credentials when running in a pod, else the kubeconfig."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]
    return client.ApiClient()


class KubeApi:
    """Implements ``StatusWriter`` and ``EventSink``, and reads Secrets/ConfigMaps."""

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        executor: ThreadPoolExecutor,
        instance: str,
        permissions: Permissions | None = None,
    ) -> None:
        self._custom = client.CustomObjectsApi(api_client)
        self._core = client.CoreV1Api(api_client)
        self._executor = executor
        self._instance = instance
        self._permissions = permissions or Permissions()
        self._pending: collections.deque[CoreV1Event] = collections.deque()
        self._retrying: asyncio.Task[None] | None = None

    @property
    def pending_events(self) -> int:
        """Events that failed to post and wait for their retry."""
        return len(self._pending)

    async def _call(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    async def ensure_cluster_peering(self, name: str) -> bool:
        """Create the kopf ClusterKopfPeering ``name`` unless it exists; True if created.

        kopf needs the object to exist before replicas can see each other; the
        chart cannot create it in the release that installs its CRD.
        """

        def create() -> bool:
            body = {
                "apiVersion": f"{PEERING_GROUP}/v1",
                "kind": "ClusterKopfPeering",
                "metadata": {"name": name},
            }
            try:
                self._custom.create_cluster_custom_object(
                    PEERING_GROUP, "v1", "clusterkopfpeerings", body
                )
            except ApiException as err:
                if err.status == 409:  # Conflict: it exists already
                    return False
                raise
            return True

        return await self._call(create)

    async def write_key_result(self, ref: Ref, status: KeyResultStatus) -> None:
        """Merge-patch ``keyresults/<name>/status``."""
        body = {"status": key_result_status_to_dict(status)}
        await self._patch_status("keyresults", ref, body)

    async def write_objective(self, ref: Ref, status: ObjectiveStatus) -> None:
        """Merge-patch ``objectives/<name>/status``."""
        body = {"status": objective_status_to_dict(status)}
        await self._patch_status("objectives", ref, body)

    async def write_check_in(
        self, ref: Ref, conditions: tuple[Condition, ...], generation: int
    ) -> None:
        """Merge-patch ``checkins/<name>/status`` (never its spec)."""
        body = {"status": check_in_status_to_dict(conditions, generation)}
        await self._patch_status("checkins", ref, body)

    async def _patch_status(self, plural: str, ref: Ref, body: dict[str, Any]) -> None:
        def patch() -> None:
            # A JSON merge patch: only the keys we send change, so kopf's own
            # status.kopf stays untouched, and None deletes a stale field.
            self._custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                ref.namespace,
                plural,
                ref.name,
                body,
                _content_type="application/merge-patch+json",
            )

        rule = Rule("patch", plural, subresource="status", namespace=ref.namespace)
        try:
            await self._call(patch)
        except ApiException as err:
            if err.status == 404:
                raise NotFoundError(f"{plural} {ref} is gone") from None
            if err.status == 403:
                self._permissions.refused(rule)
                raise WriteFailedError(f"forbidden: missing RBAC rule {rule}") from None
            raise WriteFailedError(f"the API server answered {err.status} {err.reason}") from None
        except _UNREACHABLE as err:
            raise WriteFailedError(f"cannot reach the API server: {_reason(err)}") from None
        self._permissions.allowed(rule)

    async def post(
        self, *, kind: str, ref: Ref, uid: str, type_: str, reason: str, message: str
    ) -> None:
        """Create a core/v1 Event on the object; one that fails is retried, never raised.

        An Event refused for a reason that may pass (the API server down or
        overloaded, a missing RBAC rule) waits in a bounded queue, posted in
        order with a backoff of 1 s doubling to 30 s, with its original time.
        """
        now = datetime.now(UTC)
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name=f"{ref.name}.", namespace=ref.namespace),
            involved_object=client.V1ObjectReference(
                api_version=f"{GROUP}/{VERSION}",
                kind=kind,
                name=ref.name,
                namespace=ref.namespace,
                uid=uid,
            ),
            type=type_,
            reason=reason,
            message=printable(message),
            first_timestamp=now,
            last_timestamp=now,
            count=1,
            source=client.V1EventSource(component=COMPONENT),
            reporting_component=COMPONENT,
            reporting_instance=self._instance,
            action="Evaluate",
        )
        if self._pending or not await self._create(event):
            self._queue(event)

    async def _create(self, event: CoreV1Event) -> bool:
        """Post one Event: True when done (or hopeless), False to retry."""
        namespace = str(event.metadata.namespace)
        rule = Rule("create", "events", group="", namespace=namespace)
        what = {
            "object": f"{event.involved_object.kind} {namespace}/{event.involved_object.name}",
            "reason": event.reason,
        }
        try:
            await self._call(lambda: self._core.create_namespaced_event(namespace, event))
        except ApiException as err:
            if err.status == 403:
                self._permissions.refused(rule)
            if err.status in _TRANSIENT:
                return False
            log.warning("Posting an Event failed; dropped", extra={**what, "status": err.status})
            return True
        except _UNREACHABLE:
            return False
        self._permissions.allowed(rule)
        return True

    def _queue(self, event: CoreV1Event) -> None:
        if len(self._pending) >= MAX_PENDING_EVENTS:
            dropped = self._pending.popleft()
            log.warning(
                "Too many Events waiting for the API server; dropped the oldest",
                extra={"reason": dropped.reason, "waiting": len(self._pending)},
            )
        if not self._pending:
            log.warning(
                "Posting an Event failed; retrying until the API server takes it",
                extra={"reason": event.reason, "object": event.involved_object.name},
            )
        self._pending.append(event)
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.create_task(self._retry(), name="okr-event-retry")

    async def _retry(self) -> None:
        delay = EVENT_RETRY_FIRST
        while self._pending:
            await asyncio.sleep(delay)
            while self._pending and await self._create(self._pending[0]):
                self._pending.popleft()
                delay = EVENT_RETRY_FIRST
            delay = min(delay * 2, EVENT_RETRY_MAX)
        log.info("Every waiting Event is posted")

    def _unavailable(self, err: ApiException, rule: Rule) -> ApiUnavailableError:
        if err.status == 403:
            self._permissions.refused(rule)
            return ApiUnavailableError(f"forbidden: missing RBAC rule {rule}")
        return ApiUnavailableError(f"the API server answered {err.status} {err.reason}")

    async def close(self) -> None:
        """Stop retrying Events (those still waiting are logged as lost)."""
        if self._pending:
            log.warning("Events never posted", extra={"count": len(self._pending)})
        if self._retrying is not None:
            self._retrying.cancel()

    async def read_secret(self, namespace: str, name: str) -> dict[str, str]:
        """Return a Secret's data decoded as UTF-8 text."""
        rule = Rule("get", "secrets", group="", namespace=namespace)
        try:
            secret = await self._call(lambda: self._core.read_namespaced_secret(name, namespace))
        except ApiException as err:
            if err.status == 404:
                raise NotFoundError(f"Secret {namespace}/{name} not found") from None
            raise self._unavailable(err, rule) from None
        except _UNREACHABLE as err:
            raise ApiUnavailableError(f"cannot reach the API server: {_reason(err)}") from None
        self._permissions.allowed(rule)
        data = secret.data or {}
        return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in data.items()}

    async def read_config_map(self, namespace: str, name: str) -> dict[str, str]:
        """Return a ConfigMap's data."""
        rule = Rule("get", "configmaps", group="", namespace=namespace)
        try:
            cm = await self._call(lambda: self._core.read_namespaced_config_map(name, namespace))
        except ApiException as err:
            if err.status == 404:
                raise NotFoundError(f"ConfigMap {namespace}/{name} not found") from None
            raise self._unavailable(err, rule) from None
        except _UNREACHABLE as err:
            raise ApiUnavailableError(f"cannot reach the API server: {_reason(err)}") from None
        self._permissions.allowed(rule)
        return dict(cm.data or {})


CLUSTER_SCOPED = frozenset({"clusterprometheussources"})
_PAGE = 500
_GLOB = frozenset("*?[!,")


class ObjectListing:
    """One paged LIST per kind at startup, in the namespaces the operator watches.

    kopf's index handlers would give the same "every object is known" moment, but
    kopf keeps one readiness toggle per listed object and rechecks them all on
    every change: measured, a restart with 3,000 key results took 64 s to restore
    and one with 10,000 did not finish in 600 s. A LIST costs one call per page.
    ``namespaces`` is None for every namespace; kopf-style globs (``team-*``,
    ``!kube-*``) list every namespace and keep the matching ones.
    """

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        executor: ThreadPoolExecutor,
        namespaces: Sequence[str] | None,
    ) -> None:
        self._custom = client.CustomObjectsApi(api_client)
        self._executor = executor
        self._namespaces = list(namespaces) if namespaces is not None else None

    async def list_objects(self, plural: str) -> list[Mapping[str, Any]]:
        """Every object of ``plural``; ``ListingError`` naming the call when it fails."""
        names = self._namespaces
        exact = names is not None and not any(_GLOB & set(n) for n in names)
        if plural in CLUSTER_SCOPED or not exact:
            found = await self._pages(plural, None)
            if plural not in CLUSTER_SCOPED and names is not None:
                found = [o for o in found if _matches(_namespace_of(o), names)]
            return found
        listed: list[Mapping[str, Any]] = []
        for namespace in names or ():
            listed += await self._pages(plural, namespace)
        return listed

    async def _pages(self, plural: str, namespace: str | None) -> list[Mapping[str, Any]]:
        loop = asyncio.get_running_loop()
        items: list[Mapping[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": _PAGE}
            if token:
                kwargs["_continue"] = token

            def call(kwargs: dict[str, Any] = kwargs) -> Any:
                if namespace is None:
                    return self._custom.list_cluster_custom_object(GROUP, VERSION, plural, **kwargs)
                return self._custom.list_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural, **kwargs
                )

            try:
                page = await loop.run_in_executor(self._executor, call)
            except ApiException as err:
                where = f"in namespace {namespace}" if namespace else "in every namespace"
                raise ListingError(
                    f"list {plural}.{GROUP} {where}: {err.status} {err.reason}"
                ) from None
            items += page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items


def _namespace_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _matches(namespace: str, patterns: Sequence[str]) -> bool:
    """Whether kopf, given these ``--namespace`` patterns, watches ``namespace``.

    kopf's documented rules (``kopf.match_namespace``), restated because adapters
    do not import kopf: a name matches if any pattern does; a pattern is
    comma-separated globs, the first inclusive one decides the initial match,
    ``!glob`` removes a match, a later inclusive glob restores only a name the
    first one matched; a pattern starting with ``!`` starts from ``*``.
    """
    return any(_matches_one(namespace, pattern) for pattern in patterns)


def _matches_one(namespace: str, pattern: str) -> bool:
    globs = [glob.strip() for glob in pattern.split(",")]
    if globs[0].startswith("!"):
        globs.insert(0, "*")
    first = matched = fnmatch.fnmatch(namespace, globs[0])
    for glob in globs[1:]:
        if glob.startswith("!"):
            matched = matched and not fnmatch.fnmatch(namespace, glob[1:])
        else:
            matched = matched or (first and fnmatch.fnmatch(namespace, glob))
    return matched
