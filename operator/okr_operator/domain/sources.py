"""The value types of a Prometheus-compatible source, as the operator uses them.

Values only: parsing them from a manifest is ``okr_operator.api.spec``'s job, and
reading the Secrets they name is the sources adapter's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from okr_operator.domain.model import QueryLanguage


@dataclass(frozen=True, slots=True)
class SecretKeyRef:
    """A key in a Secret or ConfigMap."""

    name: str
    key: str


@dataclass(frozen=True, slots=True)
class PrometheusSourceSpec:
    """The parsed spec of a PrometheusSource or ClusterPrometheusSource.

    It holds references to credentials, never the credentials themselves.
    """

    url: str
    timeout: timedelta = timedelta(seconds=30)
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    bearer_token: SecretKeyRef | None = None
    basic_auth_secret: str | None = None
    ca_secret: SecretKeyRef | None = None
    ca_config_map: SecretKeyRef | None = None
    insecure_skip_verify: bool = False
    query_language: QueryLanguage = QueryLanguage.PROMQL
    # None: the operator's default (okr run --max-concurrent-queries).
    max_concurrent_queries: int | None = None
