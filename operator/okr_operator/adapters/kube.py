"""Kubernetes API calls the engine makes: status patches, Events, Secret reads.

kopf watches the objects; these writes go through the official client so
that they are plain, typed REST calls we control (merge patches of the status
subresource only, Events with our own reporting component). The client is
synchronous, so calls run in a small dedicated thread pool.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

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

log = logging.getLogger("okr_operator.kube")
T = TypeVar("T")
COMPONENT = "okr-operator"
PEERING_GROUP = "kopf.dev"


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
        self, api_client: client.ApiClient, *, executor: ThreadPoolExecutor, instance: str
    ) -> None:
        self._custom = client.CustomObjectsApi(api_client)
        self._core = client.CoreV1Api(api_client)
        self._executor = executor
        self._instance = instance

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

        try:
            await self._call(patch)
        except ApiException as err:
            if err.status == 404:
                raise NotFoundError(f"{plural} {ref} is gone") from None
            raise

    async def post(
        self, *, kind: str, ref: Ref, uid: str, type_: str, reason: str, message: str
    ) -> None:
        """Create a core/v1 Event on the object; failures are logged, never raised."""
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
        try:
            await self._call(lambda: self._core.create_namespaced_event(ref.namespace, event))
        except ApiException as err:
            log.warning(
                "Posting an Event failed",
                extra={"object": f"{kind} {ref}", "status": err.status, "reason": reason},
            )

    async def read_secret(self, namespace: str, name: str) -> dict[str, str]:
        """Return a Secret's data decoded as UTF-8 text."""
        try:
            secret = await self._call(lambda: self._core.read_namespaced_secret(name, namespace))
        except ApiException as err:
            if err.status == 404:
                raise NotFoundError(f"Secret {namespace}/{name} not found") from None
            raise
        data = secret.data or {}
        return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in data.items()}

    async def read_config_map(self, namespace: str, name: str) -> dict[str, str]:
        """Return a ConfigMap's data."""
        try:
            cm = await self._call(lambda: self._core.read_namespaced_config_map(name, namespace))
        except ApiException as err:
            if err.status == 404:
                raise NotFoundError(f"ConfigMap {namespace}/{name} not found") from None
            raise
        return dict(cm.data or {})
