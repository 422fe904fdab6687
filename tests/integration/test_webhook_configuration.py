"""``WebhookConfigurationCA`` against the bench's kube-apiserver.

The configurations here match a group nobody serves (``example.invalid``), so
they never touch another test's objects while they exist.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from okr_operator.adapters.webhook_configuration import WebhookConfigurationCA
from tests.support.bench import Bench

pytestmark = pytest.mark.integration

CA_PEM = b"-----BEGIN CERTIFICATE-----\nnot parsed by the API server\n-----END CERTIFICATE-----\n"
OTHER_PEM = b"-----BEGIN CERTIFICATE-----\nan older CA\n-----END CERTIFICATE-----\n"


def _configuration(name: str) -> dict[str, Any]:
    def webhook(kind: str) -> dict[str, Any]:
        return {
            "name": f"{kind}.example.invalid",
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": "Ignore",
            "rules": [
                {
                    "apiGroups": ["example.invalid"],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE"],
                    "resources": [kind],
                }
            ],
            "clientConfig": {"url": f"https://127.0.0.1:1/validate-{kind}"},
        }

    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [webhook("widgets"), webhook("gadgets")],
    }


@pytest.fixture
def admission_api(bench: Bench) -> client.AdmissionregistrationV1Api:
    return client.AdmissionregistrationV1Api(config.new_client_from_config(str(bench.kubeconfig)))


@pytest.fixture
def name(admission_api: client.AdmissionregistrationV1Api) -> Iterator[str]:
    name = f"okr-test-{secrets.token_hex(4)}"
    yield name
    try:
        admission_api.delete_validating_webhook_configuration(name)
    except ApiException as err:
        if err.status != 404:  # a test that failed before creating it
            raise


def _bundles(api: client.AdmissionregistrationV1Api, name: str) -> list[str | None]:
    found = api.read_validating_webhook_configuration(name)
    return [webhook.client_config.ca_bundle for webhook in found.webhooks]


def _b64(pem: bytes) -> str:
    return base64.b64encode(pem).decode()


async def test_ensure_should_set_every_bundle_once_and_then_write_nothing(
    bench: Bench, admission_api: client.AdmissionregistrationV1Api, name: str
) -> None:
    admission_api.create_validating_webhook_configuration(_configuration(name))
    with ThreadPoolExecutor(max_workers=1) as executor:
        ca = WebhookConfigurationCA(admission_api.api_client, name=name, executor=executor)
        assert await ca.ensure(CA_PEM) == 2
        assert _bundles(admission_api, name) == [_b64(CA_PEM), _b64(CA_PEM)]
        version = admission_api.read_validating_webhook_configuration(name).metadata
        assert await ca.ensure(CA_PEM) == 0
        again = admission_api.read_validating_webhook_configuration(name).metadata
        assert again.resource_version == version.resource_version, "an unneeded write"
        # A new CA after a restart replaces the old one in the webhook that had it.
        admission_api.patch_validating_webhook_configuration(
            name,
            [
                {
                    "op": "replace",
                    "path": "/webhooks/1/clientConfig/caBundle",
                    "value": _b64(OTHER_PEM),
                }
            ],
            _content_type="application/json-patch+json",
        )
        assert await ca.ensure(CA_PEM) == 1
        assert _bundles(admission_api, name) == [_b64(CA_PEM), _b64(CA_PEM)]


async def test_replicas_with_peering_should_each_add_their_ca_and_then_write_nothing(
    bench: Bench, admission_api: client.AdmissionregistrationV1Api, name: str
) -> None:
    """Two replicas behind one Service: the API server must trust both CAs, not the last."""
    admission_api.create_validating_webhook_configuration(_configuration(name))
    with ThreadPoolExecutor(max_workers=1) as executor:
        first = WebhookConfigurationCA(
            admission_api.api_client, name=name, executor=executor, keep_others=1
        )
        second = WebhookConfigurationCA(
            admission_api.api_client, name=name, executor=executor, keep_others=1
        )
        assert await first.ensure(CA_PEM) == 2
        assert await second.ensure(OTHER_PEM) == 2
        both = _b64(CA_PEM + OTHER_PEM)
        assert _bundles(admission_api, name) == [both, both]
        version = admission_api.read_validating_webhook_configuration(name).metadata
        # Each one's recheck finds its CA there: no flapping between the two.
        assert await first.ensure(CA_PEM) == 0
        assert await second.ensure(OTHER_PEM) == 0
        again = admission_api.read_validating_webhook_configuration(name).metadata
        assert again.resource_version == version.resource_version, "an unneeded write"
        # A third CA (a restarted replica) keeps only keep_others=1 of the others.
        third = b"-----BEGIN CERTIFICATE-----\na restarted replica\n-----END CERTIFICATE-----\n"
        assert await first.ensure(third) == 2
        assert _bundles(admission_api, name) == [_b64(OTHER_PEM + third)] * 2


async def test_keep_should_report_once_and_set_the_bundle_when_the_configuration_appears(
    bench: Bench,
    admission_api: client.AdmissionregistrationV1Api,
    name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="okr_operator.webhook")
    with ThreadPoolExecutor(max_workers=1) as executor:
        ca = WebhookConfigurationCA(admission_api.api_client, name=name, executor=executor)
        keeping = asyncio.create_task(ca.keep(CA_PEM, recheck_seconds=60, retry_seconds=0.1))
        try:
            await asyncio.sleep(1.0)  # about ten failed attempts: the configuration is absent
            admission_api.create_validating_webhook_configuration(_configuration(name))
            for _ in range(100):
                if _bundles(admission_api, name) == [_b64(CA_PEM), _b64(CA_PEM)]:
                    break
                await asyncio.sleep(0.1)
        finally:
            keeping.cancel()
    assert _bundles(admission_api, name) == [_b64(CA_PEM), _b64(CA_PEM)]
    records = [(r.levelname, r.getMessage(), getattr(r, "error", None)) for r in caplog.records]
    assert records == [
        (
            "ERROR",
            "cannot set the webhook CA bundle; admission requests fail until it is",
            "404 Not Found",
        ),
        ("INFO", "webhook CA bundle set", None),
    ]
