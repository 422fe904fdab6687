"""The validating admission webhook: ``okr validate``'s errors, refused at apply time.

One kopf ``on.validate`` handler per kind, each with an explicit id: kopf
serves a handler at ``/<id>`` and Kubernetes accepts only DNS-1123 segments in
``clientConfig.service.path`` (kopf's default id, the function's qualified
name, has dots and underscores). The rules are ``api.spec.validate_document``,
the same as the operator's and the CLI's, so a manifest is refused at
``kubectl apply`` exactly when the operator would report it as InvalidSpec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf

from okr_operator.api.spec import validate_document
from okr_operator.domain.model import GROUP, VERSION

# kopf handler id (and URL path) -> plural. The chart's ValidatingWebhookConfiguration
# names the same paths; tests/unit/test_helm.py checks the two agree.
WEBHOOK_PATHS: Mapping[str, str] = {
    "validate-keyresult": "keyresults",
    "validate-objective": "objectives",
    "validate-prometheussource": "prometheussources",
    "validate-clusterprometheussource": "clusterprometheussources",
}
# What the API server shows after "admission webhook ... denied the request:".
INVALID = 422


@dataclass(frozen=True, slots=True)
class WebhookServing:
    """Where and with which certificate kopf serves the webhook over HTTPS."""

    address: str
    port: int
    cert_file: Path
    key_file: Path
    ca_file: Path | None


def check(
    operation: str | None, new: Mapping[str, Any], old: Mapping[str, Any] | None
) -> list[str]:
    """Warnings for an admitted object; raises ``kopf.AdmissionError`` for a refused one.

    Two cases are admitted with the problems as warnings instead: an object
    being deleted (refusing the removal of a finalizer would keep it forever),
    and an update that leaves an already invalid spec as it was (labels or
    annotations of an object created before the webhook existed, the way the
    API server ratchets CRD schema validation).
    """
    problems = validate_document(new)
    if not problems:
        return []
    metadata = new.get("metadata")
    if isinstance(metadata, Mapping) and metadata.get("deletionTimestamp"):
        return [f"{problem} (admitted: the object is being deleted)" for problem in problems]
    if operation == "UPDATE" and old is not None and old.get("spec") == new.get("spec"):
        return [f"{problem} (admitted: the spec did not change)" for problem in problems]
    raise kopf.AdmissionError("; ".join(problems), code=INVALID)


class Admission:
    """The validate handlers and the HTTPS server kopf runs them behind."""

    def __init__(self, serving: WebhookServing) -> None:
        self._serving = serving

    def register(self, registry: kopf.OperatorRegistry) -> None:
        """Attach the webhook server's setup and one validate handler per kind."""
        kopf.on.startup(registry=registry)(self.startup)
        for handler_id, plural in WEBHOOK_PATHS.items():
            kopf.on.validate(
                GROUP, VERSION, plural, id=handler_id, side_effects=False, registry=registry
            )(self.validate)

    async def startup(self, settings: kopf.OperatorSettings, **_: Any) -> None:
        """Serve with our own certificate files; the chart owns the webhook configuration.

        ``settings.admission.managed`` stays unset, so kopf never creates or
        patches webhook configurations; the operator's own
        ``WebhookConfigurationCA`` fills in the bundle. kopf re-reads the files
        when they change (a cert-manager renewal) and restarts the server.
        """
        serving = self._serving
        settings.admission.server = kopf.WebhookServer(
            addr=serving.address,
            port=serving.port,
            certfile=str(serving.cert_file),
            pkeyfile=str(serving.key_file),
            cafile=str(serving.ca_file) if serving.ca_file else None,
        )

    @staticmethod
    async def validate(*, body: kopf.Body, warnings: list[str], **kwargs: Any) -> None:
        """Refuse what ``okr validate`` calls an error; pass its warnings on."""
        warnings.extend(check(kwargs.get("operation"), body, kwargs.get("old")))
