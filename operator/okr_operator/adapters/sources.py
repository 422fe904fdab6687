"""Which Prometheus a key result queries: its sourceRef, or the default.

PrometheusSource reads Secrets and ConfigMaps only from its own namespace, a
ClusterPrometheusSource only from the operator's namespace (the pattern of
cert-manager's Issuer and ClusterIssuer), so a team cannot borrow another
team's credentials by naming them. Clients are cached per source and rebuilt
when the source changes or its credentials are older than ``refresh``, so a
rotated token is picked up without a restart.

Each source (and the default Prometheus) has a lane of its own: at most
``maxConcurrentQueries`` queries at once, on threads of its own. The engine
takes a lane slot before one of its global slots, so key results of a slow or
hanging source wait in their own lane and cannot delay those of another.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from okr_operator.adapters.kube import KubeApi, NotFoundError
from okr_operator.adapters.prometheus import (
    DEFAULT_MAX_RESPONSE_BYTES,
    Connection,
    PrometheusQuerier,
)
from okr_operator.domain.model import Problem, QueryLanguage, Reason, SourceKind, SourceRef
from okr_operator.domain.sources import PrometheusSourceSpec, SecretKeyRef
from okr_operator.services.ports import ApiUnavailableError


class _MissingCredentialError(LookupError):
    pass


DEFAULT_MAX_CONCURRENT_QUERIES = 8
_Key = tuple[SourceKind, str, str]
_DEFAULT_LANE: _Key | None = None


class _Lane:
    """One source's share of the queries: ``size`` slots and as many threads."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.slots = asyncio.Semaphore(size)
        self.executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"query-{name}")

    def close(self) -> None:
        # Queries in flight finish on their threads; nothing new starts here.
        self.executor.shutdown(wait=False)


@dataclass(slots=True)
class _Cached:
    spec: PrometheusSourceSpec
    querier: PrometheusQuerier
    built: float


class SourceResolver:
    """Implements ``services.ports.QuerierResolver``."""

    def __init__(
        self,
        *,
        default_url: str | None,
        kube: KubeApi,
        operator_namespace: str,
        refresh_seconds: float = 300.0,
        default_language: QueryLanguage = QueryLanguage.PROMQL,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_concurrent_queries: int = DEFAULT_MAX_CONCURRENT_QUERIES,
    ) -> None:
        self._kube = kube
        self._operator_namespace = operator_namespace
        self._refresh = refresh_seconds
        self._max_response_bytes = max_response_bytes
        self._max_concurrent_queries = max_concurrent_queries
        self._lanes: dict[_Key | None, _Lane] = {}
        self._default = (
            PrometheusQuerier(
                Connection(url=default_url),
                executor=self._lane(_DEFAULT_LANE, None).executor,
                language=default_language,
                max_response_bytes=max_response_bytes,
            )
            if default_url
            else None
        )
        self._specs: dict[tuple[SourceKind, str, str], PrometheusSourceSpec] = {}
        self._cache: dict[tuple[SourceKind, str, str], _Cached] = {}
        self._ca_dir = tempfile.mkdtemp(prefix="okr-ca-")
        self._default_language = default_language

    def language(self, namespace: str, source: SourceRef | None) -> QueryLanguage | None:
        """The query language of a key result's source (None: no such source known).

        For the admission webhook, which checks a key result against its source's language.
        """
        if source is None:
            return self._default_language
        cluster = source.kind is SourceKind.CLUSTER_PROMETHEUS_SOURCE
        spec = self._specs.get((source.kind, "" if cluster else namespace, source.name))
        return spec.query_language if spec is not None else None

    def set_source(
        self, kind: SourceKind, namespace: str, name: str, spec: PrometheusSourceSpec
    ) -> None:
        """Record a (Cluster)PrometheusSource from the watch."""
        self._specs[(kind, namespace, name)] = spec

    def remove_source(self, kind: SourceKind, namespace: str, name: str) -> None:
        """Forget a deleted source and close its connections."""
        key = (kind, namespace, name)
        self._specs.pop(key, None)
        cached = self._cache.pop(key, None)
        if cached is not None:
            cached.querier.close()
        lane = self._lanes.pop(key, None)
        if lane is not None:
            lane.close()

    def slot(
        self, namespace: str, source: SourceRef | None
    ) -> contextlib.AbstractAsyncContextManager[object]:
        """One query slot of the source a key result names (hold it while evaluating)."""
        if source is None:
            return self._lane(_DEFAULT_LANE, None).slots
        key = self._key(namespace, source)
        spec = self._specs.get(key)
        if spec is None:
            return contextlib.nullcontext()  # resolve() reports it; nothing to wait for
        return self._lane(key, spec.max_concurrent_queries).slots

    def close(self) -> None:
        """Stop every lane's threads (at shutdown)."""
        for lane in self._lanes.values():
            lane.close()
        self._lanes.clear()

    def _lane(self, key: _Key | None, size: int | None) -> _Lane:
        size = size or self._max_concurrent_queries
        lane = self._lanes.get(key)
        if lane is None or lane.size != size:
            if lane is not None:
                lane.close()
            lane = self._lanes[key] = _Lane(size, "default" if key is None else key[2])
        return lane

    @staticmethod
    def _key(namespace: str, source: SourceRef) -> _Key:
        cluster = source.kind is SourceKind.CLUSTER_PROMETHEUS_SOURCE
        return (source.kind, "" if cluster else namespace, source.name)

    async def resolve(
        self, namespace: str, source: SourceRef | None
    ) -> PrometheusQuerier | Problem:
        """Return the querier for a key result in ``namespace``."""
        if source is None:
            if self._default is None:
                return Problem(
                    Reason.REFERENCE_NOT_FOUND,
                    "spec.sourceRef is not set and the operator has no default Prometheus "
                    "(okr run --prometheus-url or OKR_PROMETHEUS_URL)",
                )
            return self._default
        cluster = source.kind is SourceKind.CLUSTER_PROMETHEUS_SOURCE
        key = self._key(namespace, source)
        where = source.name if cluster else f"{namespace}/{source.name}"
        spec = self._specs.get(key)
        if spec is None:
            return Problem(
                Reason.REFERENCE_NOT_FOUND, f"{source.kind} {where} (spec.sourceRef) not found"
            )
        cached = self._cache.get(key)
        if (
            cached is not None
            and cached.spec == spec
            and time.monotonic() - cached.built < self._refresh
        ):
            return cached.querier
        secrets_namespace = self._operator_namespace if cluster else namespace
        return await self._build(key, spec, cached, secrets_namespace, f"{source.kind} {where}")

    async def _build(
        self,
        key: _Key,
        spec: PrometheusSourceSpec,
        cached: _Cached | None,
        secrets_namespace: str,
        owner: str,
    ) -> PrometheusQuerier | Problem:
        """A querier with the credentials read now (the cached one if they cannot be)."""
        try:
            connection = await self._connection(spec, secrets_namespace, owner)
        except (NotFoundError, _MissingCredentialError) as err:
            return Problem(Reason.REFERENCE_NOT_FOUND, str(err))
        except ApiUnavailableError:
            if cached is not None and cached.spec == spec:
                return cached.querier  # credentials read before still serve
            raise
        querier = PrometheusQuerier(
            connection,
            executor=self._lane(key, spec.max_concurrent_queries).executor,
            language=spec.query_language,
            max_response_bytes=self._max_response_bytes,
        )
        if cached is not None:
            cached.querier.close()
        self._cache[key] = _Cached(spec, querier, time.monotonic())
        return querier

    async def _connection(
        self, spec: PrometheusSourceSpec, namespace: str, owner: str
    ) -> Connection:
        headers = dict(spec.headers)
        basic: tuple[str, str] | None = None
        if spec.bearer_token is not None:
            token = await self._secret_key(
                namespace, spec.bearer_token, owner, "spec.bearerTokenSecretRef"
            )
            headers["Authorization"] = f"Bearer {token.strip()}"
        if spec.basic_auth_secret is not None:
            ref_field = "spec.basicAuthSecretRef"
            user = await self._secret_key(
                namespace, SecretKeyRef(spec.basic_auth_secret, "username"), owner, ref_field
            )
            password = await self._secret_key(
                namespace, SecretKeyRef(spec.basic_auth_secret, "password"), owner, ref_field
            )
            basic = (user, password)
        ca_file = None
        if spec.ca_secret is not None:
            pem = await self._secret_key(namespace, spec.ca_secret, owner, "spec.tls.caSecretRef")
            ca_file = self._write_ca(owner, pem)
        elif spec.ca_config_map is not None:
            data = await self._kube.read_config_map(namespace, spec.ca_config_map.name)
            if spec.ca_config_map.key not in data:
                raise _MissingCredentialError(
                    f"key {spec.ca_config_map.key!r} not in ConfigMap {namespace}/"
                    f"{spec.ca_config_map.name} (spec.tls.caConfigMapRef of {owner})"
                )
            ca_file = self._write_ca(owner, data[spec.ca_config_map.key])
        return Connection(
            url=spec.url,
            timeout=spec.timeout,
            headers=headers,
            basic_auth=basic,
            ca_file=ca_file,
            insecure_skip_verify=spec.insecure_skip_verify,
        )

    async def _secret_key(self, namespace: str, ref: SecretKeyRef, owner: str, field: str) -> str:
        try:
            data = await self._kube.read_secret(namespace, ref.name)
        except NotFoundError:
            raise NotFoundError(
                f"Secret {namespace}/{ref.name} ({field} of {owner}) not found"
            ) from None
        if ref.key not in data:
            raise _MissingCredentialError(
                f"key {ref.key!r} not in Secret {namespace}/{ref.name} ({field} of {owner})"
            )
        return data[ref.key]

    def _write_ca(self, owner: str, pem: str) -> str:
        # requests verifies against a file path; keep one private file per source.
        safe = "".join(c if c.isalnum() else "_" for c in owner)
        path = os.path.join(self._ca_dir, f"{safe}.pem")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(pem)
        os.chmod(path, 0o600)
        return path
