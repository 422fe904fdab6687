"""``okr run --webhook-*``: the admission webhook's flags and wiring.

Off unless ``--webhook-port`` is given. Without certificate files the
operator issues a CA and a serving certificate at start (for
``--webhook-service``'s DNS names and any ``--webhook-host``) and, with
``--webhook-configuration``, keeps that configuration's caBundle set to the CA.
With ``--webhook-cert-file``/``--webhook-key-file`` (cert-manager's Secret) it
serves those and leaves the bundle to cert-manager's cainjector unless
``--webhook-configuration`` and ``--webhook-ca-file`` are given.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import kopf
import yaml
from kubernetes import client

from okr_operator.adapters.webhook_certificates import (
    issue_webhook_certificates,
    service_hostnames,
)
from okr_operator.adapters.webhook_configuration import WebhookConfigurationCA
from okr_operator.cli import findings
from okr_operator.cli.manifests import Document, Loaded
from okr_operator.handlers.admission import Admission, LanguageOf, WebhookServing

# How often the bundle is compared again once set (a helm upgrade may reset it),
# and retried while it cannot be set (RBAC, the configuration not yet created).
RECHECK_SECONDS = 600.0
RETRY_SECONDS = 10.0
# CAs of other replicas kept in the bundle with --peering: replicas plus a surge, and
# the CAs of replicas that have gone (harmless: their keys died with them).
PEERING_BUNDLE_OTHERS = 5


def add_arguments(run: argparse.ArgumentParser) -> None:
    """The ``--webhook-*`` flags of ``okr run``."""
    webhook = run.add_argument_group(
        "admission webhook",
        "refuse at kubectl apply what okr validate calls an error (off without --webhook-port)",
    )
    webhook.add_argument(
        "--webhook-port", type=int, metavar="PORT", help="serve the webhook over HTTPS on PORT"
    )
    webhook.add_argument(
        "--webhook-cert-file",
        type=Path,
        metavar="PEM",
        help="serving certificate (e.g. cert-manager's); without it the operator issues one",
    )
    webhook.add_argument(
        "--webhook-key-file", type=Path, metavar="PEM", help="private key of --webhook-cert-file"
    )
    webhook.add_argument(
        "--webhook-ca-file",
        type=Path,
        metavar="PEM",
        help="CA of --webhook-cert-file, for --webhook-configuration",
    )
    webhook.add_argument(
        "--webhook-service",
        metavar="NAME",
        help="the webhook's Service in --operator-namespace: its DNS names go in the issued cert",
    )
    webhook.add_argument(
        "--webhook-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another DNS name or IP address for the issued certificate (repeatable)",
    )
    webhook.add_argument(
        "--webhook-configuration",
        metavar="NAME",
        help="the ValidatingWebhookConfiguration whose caBundle the operator keeps set",
    )


def problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the combination of webhook flags, or None."""
    cert, key = args.webhook_cert_file, args.webhook_key_file
    if args.webhook_port is None:
        named = [flag for flag, value in _flags(args) if value]
        return f"{', '.join(named)}: only with --webhook-port" if named else None
    if (cert is None) != (key is None):
        return "--webhook-cert-file and --webhook-key-file go together"
    if cert is None and not (args.webhook_service or args.webhook_host):
        return "name --webhook-service or --webhook-host for the certificate the operator issues"
    if cert is None and args.webhook_ca_file is not None:
        return "--webhook-ca-file is the CA of --webhook-cert-file"
    if cert is not None and args.webhook_configuration and args.webhook_ca_file is None:
        return "--webhook-configuration with --webhook-cert-file needs --webhook-ca-file"
    return None


def start(
    args: argparse.Namespace,
    registry: kopf.OperatorRegistry,
    api_client: client.ApiClient,
    executor: ThreadPoolExecutor,
    language_of: LanguageOf,
) -> list[asyncio.Task[None]]:
    """Register the webhook with kopf; return the task that keeps the CA bundle, if any."""
    serving = _serving(args)
    admission = Admission(serving, language_of=language_of, warnings_of=validate_warnings)
    admission.register(registry)
    if not args.webhook_configuration or serving.ca_file is None:
        return []
    bundle = WebhookConfigurationCA(
        api_client,
        name=args.webhook_configuration,
        executor=executor,
        # With peering every replica serves the webhook with its own CA: trust them all.
        keep_others=PEERING_BUNDLE_OTHERS if getattr(args, "peering", None) else 0,
    )
    keep = bundle.keep(
        serving.ca_file.read_bytes(), recheck_seconds=RECHECK_SECONDS, retry_seconds=RETRY_SECONDS
    )
    return [asyncio.create_task(keep, name="okr-webhook-ca-bundle")]


def validate_warnings(body: Mapping[str, Any]) -> list[str]:
    """What ``okr validate`` warns about in this one object, one line each.

    The object on its own: warnings that need another file (the period of
    the key result's objective) are not given, as ``okr validate`` on a single
    file would not give them either.
    """
    # Composed from its own YAML: Document finds field lines through the nodes' marks.
    # A mapping always dumps to a document, so compose never returns None here.
    node = cast(yaml.Node, yaml.compose(yaml.safe_dump(dict(body))))
    document = Document(file="", line=1, body=body, node=node)
    found = findings.check(Loaded(files=[""], documents=[document]))
    return [
        ": ".join(part for part in (f.object, f.field, f.message) if part)
        for f in found
        if f.severity is findings.Severity.WARNING
    ]


def _flags(args: argparse.Namespace) -> list[tuple[str, object]]:
    return [
        ("--webhook-cert-file", args.webhook_cert_file),
        ("--webhook-key-file", args.webhook_key_file),
        ("--webhook-ca-file", args.webhook_ca_file),
        ("--webhook-service", args.webhook_service),
        ("--webhook-host", args.webhook_host),
        ("--webhook-configuration", args.webhook_configuration),
    ]


def _serving(args: argparse.Namespace) -> WebhookServing:
    if args.webhook_cert_file is not None:
        cert_file, key_file = args.webhook_cert_file, args.webhook_key_file
        ca_file: Path | None = args.webhook_ca_file
    else:
        names = [*args.webhook_host]
        if args.webhook_service:
            names += service_hostnames(args.webhook_service, args.operator_namespace)
        # In the pod this is the in-memory /tmp: the key never touches a disk.
        directory = Path(tempfile.mkdtemp(prefix="okr-webhook-"))
        certs = issue_webhook_certificates(directory, names, now=datetime.now(UTC))
        cert_file, key_file, ca_file = certs.cert_file, certs.key_file, certs.ca_file
    return WebhookServing(
        address=args.bind_address,
        port=args.webhook_port,
        cert_file=cert_file,
        key_file=key_file,
        ca_file=ca_file,
    )
