"""The validating admission webhook: ``okr validate``'s errors, refused at apply time.

One kopf ``on.validate`` handler per kind, each with an explicit id: kopf
serves a handler at ``/<id>`` and Kubernetes accepts only DNS-1123 segments in
``clientConfig.service.path`` (kopf's default id, the function's qualified
name, has dots and underscores). The rules are ``api.spec.validate_document``,
the same as the operator's and the CLI's, so a manifest is refused at
``kubectl apply`` exactly when ``okr validate`` calls it an error for the
language of its source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf

from okr_operator.api.spec import validate_document
from okr_operator.domain.model import GROUP, VERSION, QueryLanguage, SourceKind, SourceRef

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

UNKNOWN_SOURCE = (
    "checked as PromQL: the operator has not seen the spec.sourceRef source; "
    "if it speaks MetricsQL, apply the source first and then the key result"
)
# The query language of a key result's source, as the operator knows it from its
# watches (``SourceResolver.language``): None for a source it has not seen.
LanguageOf = Callable[[str, SourceRef | None], QueryLanguage | None]
# ``okr validate``'s warnings about one object (they live with the CLI's findings).
WarningsOf = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True, slots=True)
class WebhookServing:
    """Where and with which certificate kopf serves the webhook over HTTPS."""

    address: str
    port: int
    cert_file: Path
    key_file: Path
    ca_file: Path | None


def check(
    operation: str | None,
    new: Mapping[str, Any],
    old: Mapping[str, Any] | None,
    *,
    query_language: QueryLanguage | None = QueryLanguage.PROMQL,
) -> list[str]:
    """Warnings for an admitted object; raises ``kopf.AdmissionError`` for a refused one.

    Two cases are admitted with the problems as warnings instead: an object
    being deleted (refusing the removal of a finalizer would keep it forever),
    and an update that leaves an already invalid spec as it was (labels or
    annotations of an object created before the webhook existed, the way the
    API server ratchets CRD schema validation).

    ``query_language`` None: the key result's source is one the operator has
    not seen (not yet watched, or in a namespace it does not watch). The query
    is checked as PromQL, and a refusal that MetricsQL would not make says so.
    """
    problems = validate_document(new, query_language=query_language or QueryLanguage.PROMQL)
    if not problems:
        return []
    metadata = new.get("metadata")
    if isinstance(metadata, Mapping) and metadata.get("deletionTimestamp"):
        return [f"{problem} (admitted: the object is being deleted)" for problem in problems]
    if operation == "UPDATE" and old is not None and old.get("spec") == new.get("spec"):
        return [f"{problem} (admitted: the spec did not change)" for problem in problems]
    message = "; ".join(problems)
    if (
        query_language is None
        and validate_document(new, query_language=QueryLanguage.METRICSQL) != problems
    ):
        message += f" ({UNKNOWN_SOURCE})"
    raise kopf.AdmissionError(message, code=INVALID)


class RefusalsAreNotErrors(logging.Filter):
    """Log a refused manifest at INFO, not as kopf's ERROR.

    kopf reports every ``AdmissionError`` as "Webhook '<id>' failed
    permanently" at ERROR; a refusal is someone's bad manifest, not a fault of
    the operator, and must not page whoever alerts on its error logs. A handler
    that crashes is logged by kopf differently and stays an ERROR.
    """

    _PREFIXES = tuple(
        f"Webhook {handler_id!r} failed permanently: " for handler_id in WEBHOOK_PATHS
    )

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a refusal's level and wording; pass every record on."""
        message = record.msg
        if record.levelno == logging.ERROR and isinstance(message, str):
            for prefix in self._PREFIXES:
                if message.startswith(prefix):
                    record.levelno, record.levelname = (
                        logging.INFO,
                        logging.getLevelName(logging.INFO),
                    )
                    record.msg = f"admission refused: {message.removeprefix(prefix)}"
                    break
        return True


class Admission:
    """The validate handlers and the HTTPS server kopf runs them behind."""

    def __init__(
        self, serving: WebhookServing, *, language_of: LanguageOf, warnings_of: WarningsOf
    ) -> None:
        self._serving = serving
        self._language_of = language_of
        self._warnings_of = warnings_of

    def register(self, registry: kopf.OperatorRegistry) -> None:
        """Attach the webhook server's setup and one validate handler per kind."""
        kopf.on.startup(registry=registry)(self.startup)
        logging.getLogger("kopf.objects").addFilter(RefusalsAreNotErrors())
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

    async def validate(self, *, body: kopf.Body, warnings: list[str], **kwargs: Any) -> None:
        """Refuse what ``okr validate`` calls an error; pass its warnings on."""
        language = self.query_language(body)
        warnings.extend(
            check(kwargs.get("operation"), body, kwargs.get("old"), query_language=language)
        )
        warnings.extend(self._warnings_of(body))

    def query_language(self, body: Mapping[str, Any]) -> QueryLanguage | None:
        """The language of a key result's source; None when the operator has not seen it.

        A source created in the same apply as its key results may not have
        reached the watch yet, and a key result in a namespace this operator does
        not watch names a source it never sees.
        """
        spec = body.get("spec")
        ref = spec.get("sourceRef") if isinstance(spec, Mapping) else None
        source = None
        if isinstance(ref, Mapping):
            try:
                source = SourceRef(kind=SourceKind(str(ref["kind"])), name=str(ref["name"]))
            except (KeyError, ValueError):
                return QueryLanguage.PROMQL  # validate_document names the bad sourceRef
        metadata = body.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
        return self._language_of(namespace or "", source)
