"""SourceResolver: each querier speaks its source's language; the webhook can ask for it.

No Kubernetes API is needed: sources without credentials never read a Secret,
so the resolver gets a placeholder that would fail loudly if it were used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest

from okr_operator.adapters.kube import KubeApi
from okr_operator.adapters.prometheus import PrometheusQuerier
from okr_operator.adapters.sources import SourceResolver
from okr_operator.domain.model import QueryLanguage, SourceKind, SourceRef
from okr_operator.domain.sources import PrometheusSourceSpec

pytestmark = pytest.mark.unit

PS, CPS = SourceKind.PROMETHEUS_SOURCE, SourceKind.CLUSTER_PROMETHEUS_SOURCE
PROMQL, METRICSQL = QueryLanguage.PROMQL, QueryLanguage.METRICSQL
VM = PrometheusSourceSpec(url="http://vm:8428", query_language=METRICSQL)


@pytest.fixture
def resolver() -> Iterator[SourceResolver]:
    sources = SourceResolver(
        default_url="http://127.0.0.1:9090",
        kube=cast(KubeApi, object()),
        operator_namespace="okr-system",
        default_language=METRICSQL,
    )
    yield sources
    sources.close()


async def _language(resolver: SourceResolver, namespace: str, ref: SourceRef | None) -> object:
    querier = await resolver.resolve(namespace, ref)
    assert isinstance(querier, PrometheusQuerier), querier
    return querier.language


async def test_each_querier_speaks_its_sources_language(resolver: SourceResolver) -> None:
    resolver.set_source(PS, "a", "vm", VM)
    resolver.set_source(CPS, "", "prom", PrometheusSourceSpec(url="http://prom:9090"))
    assert await _language(resolver, "a", None) is METRICSQL  # --query-language
    assert await _language(resolver, "a", SourceRef(PS, "vm")) is METRICSQL
    assert await _language(resolver, "b", SourceRef(CPS, "prom")) is PROMQL


async def test_a_changed_language_gives_a_new_querier(resolver: SourceResolver) -> None:
    resolver.set_source(PS, "a", "vm", PrometheusSourceSpec(url="http://vm:8428"))
    assert await _language(resolver, "a", SourceRef(PS, "vm")) is PROMQL
    resolver.set_source(PS, "a", "vm", VM)
    assert await _language(resolver, "a", SourceRef(PS, "vm")) is METRICSQL


def test_the_language_of_a_key_results_source(resolver: SourceResolver) -> None:
    resolver.set_source(PS, "a", "vm", VM)
    resolver.set_source(CPS, "", "prom", PrometheusSourceSpec(url="http://prom:9090"))
    assert resolver.language("a", None) is METRICSQL
    assert resolver.language("a", SourceRef(PS, "vm")) is METRICSQL
    assert resolver.language("b", SourceRef(PS, "vm")) is None  # another namespace's source
    assert resolver.language("b", SourceRef(CPS, "prom")) is PROMQL
