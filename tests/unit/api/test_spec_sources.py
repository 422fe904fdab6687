"""parse_prometheus_source for both kinds: defaults, references, and every rule."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType
from typing import Any

import pytest

from okr_operator.api.spec import SpecError, parse_prometheus_source
from okr_operator.domain.model import Ref
from okr_operator.domain.sources import PrometheusSourceSpec, SecretKeyRef

from .helpers import NS, body

pytestmark = pytest.mark.unit

URL = "https://mimir.monitoring.svc:8080/prometheus"


@pytest.mark.parametrize(
    ("kind", "spec", "result"),
    [
        pytest.param(
            "PrometheusSource",
            {"url": URL},
            (Ref(NS, "mimir"), PrometheusSourceSpec(url=URL)),
            id="a minimal PrometheusSource gets a 30s timeout and no credentials",
        ),
        pytest.param(
            "ClusterPrometheusSource",
            {"url": "http://prometheus:9090"},
            (Ref("", "mimir"), PrometheusSourceSpec(url="http://prometheus:9090")),
            id="a ClusterPrometheusSource has no namespace even when metadata carries one",
        ),
        pytest.param(
            "PrometheusSource",
            {
                "url": URL,
                "timeout": "1m30s",
                "headers": {"X-Scope-OrgID": "payments"},
                "bearerTokenSecretRef": {"name": "mimir-token", "key": "token"},
                "tls": {
                    "caSecretRef": {"name": "mimir-ca", "key": "ca.crt"},
                    "insecureSkipVerify": True,
                },
            },
            (
                Ref(NS, "mimir"),
                PrometheusSourceSpec(
                    url=URL,
                    timeout=timedelta(minutes=1, seconds=30),
                    headers=MappingProxyType({"X-Scope-OrgID": "payments"}),
                    bearer_token=SecretKeyRef("mimir-token", "token"),
                    ca_secret=SecretKeyRef("mimir-ca", "ca.crt"),
                    insecure_skip_verify=True,
                ),
            ),
            id="headers, a bearer token and a CA from a Secret are parsed",
        ),
        pytest.param(
            "PrometheusSource",
            {
                "url": URL,
                "basicAuthSecretRef": {"name": "mimir-basic"},
                "tls": {"caConfigMapRef": {"name": "cluster-ca", "key": "ca.pem"}},
            },
            (
                Ref(NS, "mimir"),
                PrometheusSourceSpec(
                    url=URL,
                    basic_auth_secret="mimir-basic",
                    ca_config_map=SecretKeyRef("cluster-ca", "ca.pem"),
                ),
            ),
            id="basic auth and a CA from a ConfigMap are parsed",
        ),
        pytest.param(
            "PrometheusSource",
            {"url": URL, "maxConcurrentQueries": 3},
            (Ref(NS, "mimir"), PrometheusSourceSpec(url=URL, max_concurrent_queries=3)),
            id="a source may limit the queries it gets at once",
        ),
    ],
)
def test_valid_sources(
    kind: str, spec: dict[str, Any], result: tuple[Ref, PrometheusSourceSpec]
) -> None:
    assert parse_prometheus_source(body(kind, spec, name="mimir")) == result


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            {},
            "PrometheusSource team-a/mimir: spec.url: is required",
            id="url is required",
        ),
        pytest.param(
            {"url": "ftp://mimir:21"},
            "PrometheusSource team-a/mimir: spec.url: must match ^https?://, got 'ftp://mimir:21'",
            id="only http and https URLs are accepted",
        ),
        pytest.param(
            {"url": "http:///api"},
            "PrometheusSource team-a/mimir: spec.url: must be an http(s) URL with a host, "
            "got 'http:///api'",
            id="a URL without host is refused",
        ),
        pytest.param(
            {"url": URL, "timeout": "0s"},
            "PrometheusSource team-a/mimir: spec.timeout: must be longer than 0s, got 0s",
            id="a zero timeout is refused",
        ),
        pytest.param(
            {"url": URL, "timeout": "99999999999y"},
            "PrometheusSource team-a/mimir: spec.timeout: must be at most 1h, got 99999999999y",
            id="a timeout over an hour is refused, not an overflow",
        ),
        pytest.param(
            {"url": URL, "timeout": "30"},
            "PrometheusSource team-a/mimir: spec.timeout: invalid duration '30': expected a "
            "Prometheus duration such as '30s', '5m' or '1h30m' "
            "(units y, w, d, h, m, s, ms in that order)",
            id="a timeout without unit is refused",
        ),
        pytest.param(
            {
                "url": URL,
                "bearerTokenSecretRef": {"name": "t", "key": "token"},
                "basicAuthSecretRef": {"name": "b"},
            },
            "PrometheusSource team-a/mimir: spec.basicAuthSecretRef: cannot be combined with "
            "spec.bearerTokenSecretRef",
            id="bearer token and basic auth are mutually exclusive",
        ),
        pytest.param(
            {
                "url": URL,
                "tls": {
                    "caSecretRef": {"name": "a", "key": "ca.crt"},
                    "caConfigMapRef": {"name": "b", "key": "ca.crt"},
                },
            },
            "PrometheusSource team-a/mimir: spec.tls.caConfigMapRef: cannot be combined with "
            "spec.tls.caSecretRef",
            id="a CA from a Secret and from a ConfigMap are mutually exclusive",
        ),
        pytest.param(
            {"url": URL, "bearerTokenSecretRef": {"name": "t"}},
            "PrometheusSource team-a/mimir: spec.bearerTokenSecretRef.key: is required",
            id="a bearer token reference needs its key",
        ),
        pytest.param(
            {"url": URL, "headers": {"X-Scope-OrgID": 42}},
            "PrometheusSource team-a/mimir: spec.headers.X-Scope-OrgID: "
            "input should be a valid string",
            id="header values are strings",
        ),
        pytest.param(
            {"url": URL, "tls": {"insecureSkipVerify": "yes"}},
            "PrometheusSource team-a/mimir: spec.tls.insecureSkipVerify: "
            "input should be a valid boolean",
            id="insecureSkipVerify is a real boolean",
        ),
        pytest.param(
            {"url": URL, "maxConcurrentQueries": 0},
            "PrometheusSource team-a/mimir: spec.maxConcurrentQueries: "
            "input should be greater than or equal to 1",
            id="at least one query at once",
        ),
        pytest.param(
            {"url": URL, "maxConcurrentQueries": 257},
            "PrometheusSource team-a/mimir: spec.maxConcurrentQueries: "
            "input should be less than or equal to 256",
            id="at most 256 queries at once",
        ),
        pytest.param(
            {"url": URL, "maxConcurrentQueries": "4"},
            "PrometheusSource team-a/mimir: spec.maxConcurrentQueries: "
            "input should be a valid integer",
            id="the limit is a number, not text",
        ),
    ],
)
def test_invalid_sources(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_prometheus_source(body("PrometheusSource", spec, name="mimir"))
    assert str(caught.value) == message


def test_cluster_source_errors_name_the_cluster_kind() -> None:
    document = body("ClusterPrometheusSource", {"url": "x"}, name="global")
    del document["metadata"]["namespace"]
    with pytest.raises(SpecError) as caught:
        parse_prometheus_source(document)
    assert str(caught.value) == (
        "ClusterPrometheusSource global: spec.url: string should have at least 8 characters"
    )
