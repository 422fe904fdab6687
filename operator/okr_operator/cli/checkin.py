"""``kubectl okr check-in``: the owner's confidence (and a manual value) as a CheckIn.

Creates the CheckIn in the cluster, or with ``--dry-run`` prints it for a pull
request. The author is the kubeconfig context's user unless ``--author`` says
otherwise. The object is validated with the operator's own rules first, so
what this prints is what the API server and the operator accept.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

import yaml
from kubernetes.client.exceptions import ApiException

from okr_operator.adapters.cluster import NoClusterError, connect
from okr_operator.api.spec import CHECK_IN, validate_document
from okr_operator.cli.common import Commands
from okr_operator.domain.formatting import format_timestamp
from okr_operator.domain.model import GROUP, VERSION

_NAME_LIMIT = 253


def register(commands: Commands) -> None:
    """Add ``check-in`` to the subcommands."""
    check_in = commands.add_parser(
        "check-in",
        help="record the owner's confidence (and a manual value) for a key result",
        description="Create a CheckIn for key result KR: the owner's confidence that it is "
        "achieved by the period end, a note and blockers; --value for a manual key result "
        "(spec.manual). The latest CheckIn shows in the key result's status.checkIn. With "
        "--dry-run it is printed instead (-o yaml or json), for a pull request.",
    )
    check_in.add_argument("key_result", metavar="KR", help="name of the KeyResult")
    check_in.add_argument(
        "-n", "--namespace", metavar="NS", help="its namespace (default: the context's)"
    )
    check_in.add_argument(
        "--confidence",
        type=float,
        required=True,
        help="0 to 1: how likely the key result is achieved by the period end",
    )
    check_in.add_argument("--note", default="", help="what to say, at most 4 KiB")
    check_in.add_argument(
        "--value", type=float, help="the value, for a manual key result (spec.manual: true)"
    )
    check_in.add_argument(
        "--blocker", action="append", default=[], help="what blocks progress (repeatable)"
    )
    check_in.add_argument("--author", help="who checks in (default: the kubeconfig user)")
    check_in.add_argument(
        "--time", help="when it applies, RFC 3339 (default: when the API server creates it)"
    )
    check_in.add_argument("--name", help="the CheckIn's name (default: KR-YYYYMMDD-HHMMSS)")
    check_in.add_argument(
        "--dry-run",
        nargs="?",
        const="client",
        choices=("client",),
        help="print the CheckIn instead of creating it",
    )
    check_in.add_argument(
        "-o", "--output", choices=("yaml", "json"), help="with --dry-run: yaml (default) or json"
    )
    check_in.add_argument(
        "--kubeconfig", help="kubeconfig file (default: KUBECONFIG, ~/.kube/config)"
    )
    check_in.add_argument("--context", help="kubeconfig context (default: the current one)")
    check_in.set_defaults(handler=_check_in)


def check_in_manifest(
    *,
    key_result: str,
    namespace: str,
    confidence: float,
    note: str = "",
    value: float | None = None,
    blockers: list[str] | None = None,
    author: str = "",
    time: str | None = None,
    name: str | None = None,
    now: datetime,
) -> dict[str, Any]:
    """The CheckIn object the command creates or prints."""
    spec: dict[str, Any] = {"keyResultRef": {"name": key_result}, "confidence": confidence}
    if note:
        spec["note"] = note
    if blockers:
        spec["blockers"] = list(blockers)
    if author:
        spec["author"] = author
    if value is not None:
        spec["value"] = value
    if time is not None:
        spec["time"] = time
    stamp = now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    suffix = f"-{stamp}"
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": CHECK_IN,
        "metadata": {
            "name": name or f"{key_result[: _NAME_LIMIT - len(suffix)]}{suffix}",
            "namespace": namespace,
        },
        "spec": spec,
    }


def _check_in(args: argparse.Namespace) -> int:
    cluster = None
    try:
        cluster = connect(args.kubeconfig, args.context)
    except NoClusterError as err:
        if not args.dry_run:
            print(f"okr check-in: {err}", file=sys.stderr)
            return 1
    namespace = args.namespace or (cluster.namespace if cluster else "default")
    author = args.author if args.author is not None else (cluster.user if cluster else "")
    manifest = check_in_manifest(
        key_result=args.key_result,
        namespace=namespace,
        confidence=args.confidence,
        note=args.note,
        value=args.value,
        blockers=args.blocker,
        author=author,
        time=args.time,
        name=args.name,
        now=datetime.now(UTC),
    )
    problems = validate_document(manifest)
    if problems:
        for problem in problems:
            print(f"okr check-in: {problem}", file=sys.stderr)
        return 1
    if args.dry_run:
        if args.output == "json":
            print(json.dumps(manifest, indent=2))
        else:
            print(yaml.safe_dump(manifest, sort_keys=False), end="")
        return 0
    if cluster is None:  # unreachable: without --dry-run a missing cluster returned above
        return 1
    try:
        created = cluster.create("checkins", namespace, manifest)
    except ApiException as err:
        reason = _api_message(err)
        print(
            f"okr check-in: creating CheckIn {namespace}/{manifest['metadata']['name']} "
            f"failed: {reason}",
            file=sys.stderr,
        )
        return 1
    metadata = created.get("metadata", {})
    stamp = metadata.get("creationTimestamp") or format_timestamp(datetime.now(UTC))
    print(f"checkin.okr.dev/{metadata.get('name')} created at {stamp}")
    return 0


def _api_message(err: ApiException) -> str:
    try:
        body = json.loads(err.body or "{}")
    except ValueError:
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or f"HTTP {err.status} {err.reason}")
