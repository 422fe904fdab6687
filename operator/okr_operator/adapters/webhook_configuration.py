"""Keeping the CA bundle of our ValidatingWebhookConfiguration.

The chart renders the configuration (rules, Service, failurePolicy) and the
operator only fills in ``clientConfig.caBundle`` of each webhook with the CA
it generated at start. kopf could manage the whole object instead, but that
needs ``create`` on every ValidatingWebhookConfiguration in the cluster and
yields a ``url`` client config, where in-cluster needs ``service``; patching one
named object needs only ``get`` and ``patch`` on that name (docs/install.md).

Replicas with peering (``okr run --peering``) each issue their own CA and all
serve the webhook behind one Service, so the bundle must trust every live one:
with ``keep_others`` a replica adds its CA to the bundle and keeps that many
others (the newest), instead of replacing it; two replicas that replaced it in
turn would leave the API server trusting only one of them.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("okr_operator.webhook")


class WebhookConfigurationCA:
    """Puts one CA bundle into every webhook of one ValidatingWebhookConfiguration."""

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        name: str,
        executor: ThreadPoolExecutor,
        keep_others: int = 0,
    ) -> None:
        self._api = client.AdmissionregistrationV1Api(api_client)
        self._name = name
        self._executor = executor
        self._keep_others = keep_others

    async def ensure(self, ca_pem: bytes) -> int:
        """Patch the bundle where it differs; return how many webhooks were patched."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._ensure, ca_pem)

    def _ensure(self, ca_pem: bytes) -> int:
        current = self._api.read_validating_webhook_configuration(self._name)
        webhooks = current.webhooks or []
        patch: list[dict[str, Any]] = []
        for index, webhook in enumerate(webhooks):
            bundle = _bundle(webhook.client_config.ca_bundle, ca_pem, self._keep_others)
            if bundle is None:
                continue
            # The test makes the patch fail rather than hit another webhook if
            # the list was reordered since it was read.
            patch.append({"op": "test", "path": f"/webhooks/{index}/name", "value": webhook.name})
            patch.append(
                {"op": "add", "path": f"/webhooks/{index}/clientConfig/caBundle", "value": bundle}
            )
        if patch:
            self._api.patch_validating_webhook_configuration(
                self._name, patch, _content_type="application/json-patch+json"
            )
        return len(patch) // 2

    async def keep(self, ca_pem: bytes, *, recheck_seconds: float, retry_seconds: float) -> None:
        """Ensure the bundle now, retry until it succeeds, then recheck it forever.

        A ``helm upgrade`` or a sync that rewrites the configuration without a
        bundle is repaired at the next recheck; until then the API server cannot
        reach the webhook and applies pass unvalidated under failurePolicy Ignore.
        """
        reported = False
        while True:
            try:
                patched = await self.ensure(ca_pem)
            except ApiException as err:
                if not reported:
                    log.error(  # noqa: TRY400 - the API status says it; a traceback would not
                        "cannot set the webhook CA bundle; admission requests fail until it is",
                        extra={
                            "object": f"ValidatingWebhookConfiguration {self._name}",
                            "error": f"{err.status} {err.reason}",
                        },
                    )
                    reported = True
                await asyncio.sleep(retry_seconds)
                continue
            if patched or reported:
                log.info(
                    "webhook CA bundle set",
                    extra={
                        "object": f"ValidatingWebhookConfiguration {self._name}",
                        "webhooks": patched,
                    },
                )
            reported = False
            await asyncio.sleep(recheck_seconds)


_END = b"-----END CERTIFICATE-----"


def _certificates(pem: bytes) -> list[bytes]:
    return [part.strip() + b"\n" + _END + b"\n" for part in pem.split(_END) if part.strip()]


def _bundle(current: str | bytes | None, ca_pem: bytes, keep_others: int) -> str | None:
    """The base64 bundle to write, or None when ``current`` already is right."""
    ours = _certificates(ca_pem)
    try:
        existing = _certificates(base64.b64decode(current or "", validate=True))
    except ValueError:
        existing = []
    if keep_others == 0:
        wanted = ours
    else:
        if all(cert in existing for cert in ours):
            return None
        others = [cert for cert in existing if cert not in ours]
        wanted = others[-keep_others:] + ours
    if wanted == existing:
        return None
    return base64.b64encode(b"".join(wanted)).decode("ascii")
