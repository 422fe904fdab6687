"""``okr preview``: what the operator would write for these manifests, without applying them.

For a reviewer on a pull request: the key results are evaluated once against
Prometheus with the operator's own evaluation (``services.preview``), the
objectives rolled up, and the statuses printed. Sources come from the files
(PrometheusSource and ClusterPrometheusSource manifests), then from the
cluster when a kubeconfig reaches one, else ``--prometheus`` is the default;
Secrets they name are read from the cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from okr_operator.adapters.cluster import Cluster, NoClusterError, connect
from okr_operator.adapters.kube import KubeApi, NotFoundError
from okr_operator.adapters.prometheus import PrometheusQuerier
from okr_operator.adapters.sources import SourceResolver
from okr_operator.api.spec import (
    CHECK_IN,
    CLUSTER_PROMETHEUS_SOURCE,
    KEY_RESULT,
    OBJECTIVE,
    PROMETHEUS_SOURCE,
    SpecError,
    parse_check_in,
    parse_key_result,
    parse_objective,
    parse_prometheus_source,
)
from okr_operator.api.status import key_result_status_to_dict, objective_status_to_dict
from okr_operator.cli.common import Commands
from okr_operator.cli.manifests import Document, load
from okr_operator.cli.views import render_table, render_tree, table_json, wants_colour
from okr_operator.domain.formatting import format_timestamp
from okr_operator.domain.model import (
    GROUP,
    VERSION,
    KeyResult,
    KeyResultStatus,
    Objective,
    ObjectiveStatus,
    OwnerCheckIn,
    Problem,
    Reason,
    SourceKind,
    SourceRef,
)
from okr_operator.domain.sources import PrometheusSourceSpec
from okr_operator.services.preview import preview
from okr_operator.services.problems import problem_status

_NAMESPACED = (KEY_RESULT, OBJECTIVE, CHECK_IN, PROMETHEUS_SOURCE)


def register(commands: Commands) -> None:
    """Add ``okr preview`` to the subcommands."""
    parser = commands.add_parser(
        "preview",
        help="evaluate manifests once against Prometheus and print what the operator would write",
        description="Evaluate the key results in the given manifests once, exactly as the "
        "operator would, roll up their objectives, and print value, baseline, target, "
        "progress, expected progress, health and any failing condition. Nothing is applied. "
        "Exit status 1 when an object could not be evaluated (Ready=False).",
    )
    parser.add_argument(
        "-f",
        "--filename",
        dest="files",
        action="append",
        required=True,
        metavar="PATH",
        nargs="+",
        help="YAML file, directory (its *.yaml, *.yml) or - for stdin; repeatable",
    )
    parser.add_argument(
        "-R", "--recursive", action="store_true", help="read directories' subdirectories too"
    )
    parser.add_argument(
        "--prometheus",
        default=os.environ.get("OKR_PROMETHEUS_URL"),
        metavar="URL",
        help="Prometheus for key results without spec.sourceRef (env OKR_PROMETHEUS_URL)",
    )
    parser.add_argument(
        "--at",
        type=_instant,
        metavar="TIME",
        help="evaluate at this instant: RFC 3339 (2026-11-23T10:00:00Z) or Unix seconds "
        "(default: now)",
    )
    parser.add_argument(
        "-o", "--output", choices=("table", "tree", "json"), default="table", help="default table"
    )
    parser.add_argument(
        "-n",
        "--namespace",
        metavar="NS",
        help="namespace of objects without one (default: the kubeconfig context's, else default)",
    )
    parser.add_argument(
        "--operator-namespace",
        default=os.environ.get("POD_NAMESPACE", "okr-system"),
        help="where ClusterPrometheusSources read Secrets (default okr-system)",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig for Secrets and sources (optional)")
    parser.add_argument("--context", help="kubeconfig context")
    parser.set_defaults(handler=command)


def _instant(text: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: expected RFC 3339 such as 2026-11-23T10:00:00Z or Unix seconds"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"time {text!r} needs a UTC offset such as Z")
    return moment


def command(args: argparse.Namespace) -> int:
    """Load, evaluate, print."""
    paths = [path for group in args.files for path in group]
    loaded = load(paths, recursive=args.recursive)
    for error in loaded.errors:
        where = f"{error.file}:{error.line}" if error.line else error.file
        print(f"okr preview: {where}: {error.message}", file=sys.stderr)
    cluster, why_not = _cluster(args)
    default_namespace = args.namespace or (cluster.namespace if cluster else "default")
    docs = [_with_namespace(d, default_namespace) for d in loaded.documents if _ours(d)]
    at = args.at or datetime.now(UTC)
    objects = asyncio.run(_evaluate(docs, args, cluster, why_not, at))
    objectives = [o for o in objects if o["kind"] == OBJECTIVE]
    key_results = [o for o in objects if o["kind"] == KEY_RESULT]
    if args.output == "json":
        body = {"at": at.isoformat(), "objects": table_json(objectives, key_results)}
        print(json.dumps(body, indent=2))
    else:
        colour = wants_colour(sys.stdout.isatty(), os.environ)
        render = render_tree if args.output == "tree" else render_table
        sys.stdout.write(render(objectives, key_results, color=colour))
    failed = any(_not_ready(o) for o in objects)
    return 1 if loaded.errors or failed else 0


def _ours(doc: Document) -> bool:
    return doc.body.get("apiVersion") == f"{GROUP}/{VERSION}"


def _with_namespace(doc: Document, namespace: str) -> dict[str, Any]:
    body = dict(doc.body)
    meta = dict(body.get("metadata") or {})
    if body.get("kind") in _NAMESPACED and not meta.get("namespace"):
        meta["namespace"] = namespace
    body["metadata"] = meta
    return body


def _cluster(args: argparse.Namespace) -> tuple[Cluster | None, str]:
    try:
        return connect(args.kubeconfig, args.context), ""
    except NoClusterError as err:
        return None, str(err)


def _not_ready(obj: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "False"
        for c in obj["status"].get("conditions") or []
    )


class _NoSecrets(KubeApi):
    """Stands in for the Kubernetes API when no cluster is reachable: every read fails."""

    def __init__(self) -> None:  # no API client: there is none
        pass

    async def read_secret(self, namespace: str, name: str) -> dict[str, str]:
        raise NotFoundError(f"Secret {namespace}/{name}")

    async def read_config_map(self, namespace: str, name: str) -> dict[str, str]:
        raise NotFoundError(f"ConfigMap {namespace}/{name}")


class _Resolver:
    """The operator's SourceResolver, with a clear message when Secrets cannot be read."""

    def __init__(
        self,
        sources: SourceResolver,
        specs: dict[tuple[str, str], PrometheusSourceSpec],
        why_not: str,
    ) -> None:
        self._sources = sources
        self._specs = specs
        self._why_not = why_not

    def slot(
        self, namespace: str, source: SourceRef | None
    ) -> contextlib.AbstractAsyncContextManager[object]:
        return self._sources.slot(namespace, source)

    async def resolve(
        self, namespace: str, source: SourceRef | None
    ) -> PrometheusQuerier | Problem:
        if source is not None and self._why_not:
            cluster = source.kind is SourceKind.CLUSTER_PROMETHEUS_SOURCE
            spec = self._specs.get(
                (str(source.kind), source.name if cluster else f"{namespace}/{source.name}")
            )
            if spec is not None and _needs_cluster(spec):
                return Problem(
                    Reason.REFERENCE_NOT_FOUND,
                    f"{source.kind} {source.name} (spec.sourceRef) reads credentials or a CA "
                    f"from the cluster, and there is none ({self._why_not})",
                )
        result = await self._sources.resolve(namespace, source)
        if isinstance(result, Problem) and source is None:
            return Problem(
                result.reason,
                "spec.sourceRef is not set and no default Prometheus was given "
                "(okr preview --prometheus URL or OKR_PROMETHEUS_URL)",
            )
        return result


def _needs_cluster(spec: PrometheusSourceSpec) -> bool:
    return any(
        ref is not None
        for ref in (spec.bearer_token, spec.basic_auth_secret, spec.ca_secret, spec.ca_config_map)
    )


async def _evaluate(
    docs: list[dict[str, Any]],
    args: argparse.Namespace,
    cluster: Cluster | None,
    why_not: str,
    at: datetime,
) -> list[dict[str, Any]]:
    executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="preview")
    kube = (
        KubeApi(cluster.api, executor=executor, instance="okr-preview") if cluster else _NoSecrets()
    )
    sources = SourceResolver(
        default_url=args.prometheus,
        kube=kube,
        operator_namespace=args.operator_namespace,
    )
    specs: dict[tuple[str, str], PrometheusSourceSpec] = {}
    source_docs = [
        d for d in docs if d.get("kind") in (PROMETHEUS_SOURCE, CLUSTER_PROMETHEUS_SOURCE)
    ]
    if cluster is not None:
        source_docs = _cluster_sources(cluster) + source_docs  # the files win
    for doc in source_docs:
        try:
            ref, spec = parse_prometheus_source(doc)
        except SpecError as err:
            print(f"okr preview: {err}", file=sys.stderr)
            continue
        source_kind = SourceKind(doc["kind"])
        sources.set_source(source_kind, ref.namespace, ref.name, spec)
        specs[(str(source_kind), str(ref) if ref.namespace else ref.name)] = spec

    objects: list[dict[str, Any]] = []
    key_results: list[KeyResult] = []
    objectives: list[Objective] = []
    bodies: dict[tuple[str, str], dict[str, Any]] = {}
    check_ins = _check_ins(docs, at)
    for doc in docs:
        kind = doc.get("kind")
        if kind not in (KEY_RESULT, OBJECTIVE):
            continue
        try:
            if kind == KEY_RESULT:
                kr = parse_key_result(doc)
                key_results.append(kr)
                bodies[(KEY_RESULT, str(kr.ref))] = doc
            else:
                obj = parse_objective(doc)
                objectives.append(obj)
                bodies[(OBJECTIVE, str(obj.ref))] = doc
        except SpecError as err:
            problem = Problem(Reason.INVALID_SPEC, str(err))
            fresh: KeyResultStatus | ObjectiveStatus = (
                KeyResultStatus() if kind == KEY_RESULT else ObjectiveStatus()
            )
            status = problem_status(fresh, problem, generation=1, now=at)
            objects.append(_as_object(doc, status))
    try:
        result = await preview(
            key_results,
            objectives,
            resolver=_Resolver(sources, specs, why_not),
            at=at,
            check_ins=check_ins,
        )
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        sources.close()
    for ref, kr_status in result.key_results.items():
        objects.append(_as_object(bodies[(KEY_RESULT, str(ref))], kr_status))
    for ref, obj_status in result.objectives.items():
        objects.append(_as_object(bodies[(OBJECTIVE, str(ref))], obj_status))
    return objects


def _check_ins(docs: list[dict[str, Any]], at: datetime) -> list[OwnerCheckIn]:
    found: list[OwnerCheckIn] = []
    for doc in docs:
        if doc.get("kind") == CHECK_IN:
            try:
                found.append(parse_check_in(_created_at(doc, at)))
            except SpecError as err:
                print(f"okr preview: {err}", file=sys.stderr)
    return found


def _created_at(doc: dict[str, Any], at: datetime) -> dict[str, Any]:
    # A CheckIn in a file has no creation time yet: one without spec.time counts from --at.
    metadata = doc.get("metadata")
    if not isinstance(metadata, Mapping) or "creationTimestamp" in metadata:
        return doc
    return {**doc, "metadata": {**metadata, "creationTimestamp": format_timestamp(at)}}


def _cluster_sources(cluster: Cluster) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for plural, kind in (
        ("prometheussources", PROMETHEUS_SOURCE),
        ("clusterprometheussources", CLUSTER_PROMETHEUS_SOURCE),
    ):
        try:
            items = cluster.list(plural, None)
        except Exception as err:  # any failure means: sources from the files only
            print(f"okr preview: cannot list {plural} in the cluster: {err}", file=sys.stderr)
            continue
        found.extend({**item, "kind": kind} for item in items)
    return found


def _as_object(doc: Mapping[str, Any], status: KeyResultStatus | ObjectiveStatus) -> dict[str, Any]:
    written = (
        key_result_status_to_dict(status)
        if isinstance(status, KeyResultStatus)
        else objective_status_to_dict(status)
    )
    return {**doc, "status": written}
