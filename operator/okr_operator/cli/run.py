"""``okr run``: the operator itself (kopf watches, the engine, /metrics, /healthz)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
from kubernetes.client import ApiClient

from okr_operator import logs
from okr_operator.adapters.access import AccessReviewer, Permissions, required_rules
from okr_operator.adapters.kube import KubeApi, ObjectListing, load_api_client
from okr_operator.adapters.metrics import MetricsServer, OkrMetrics, optional_families
from okr_operator.adapters.prometheus import DEFAULT_MAX_RESPONSE_BYTES
from okr_operator.adapters.sources import DEFAULT_MAX_CONCURRENT_QUERIES, SourceResolver
from okr_operator.adapters.web import WebServer
from okr_operator.cli import webhook
from okr_operator.cli.common import Commands
from okr_operator.domain.durations import parse_duration
from okr_operator.domain.model import QueryLanguage
from okr_operator.handlers.kopf_state import KopfState, lead
from okr_operator.handlers.watches import WATCHED_PLURALS, build_registry
from okr_operator.reporting.web import render_page
from okr_operator.services.engine import Engine


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """Return the current time."""
        return datetime.now(UTC)


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _families(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    try:
        optional_families(names)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return names


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}: expected a whole number >= 1")
    return int(text)


_BYTE_UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}


def _byte_size(text: str) -> int:
    """A positive number of bytes: ``4194304`` or with a binary suffix, ``4Mi``."""
    number, factor = text, 1
    for suffix, size in _BYTE_UNITS.items():
        if text.endswith(suffix):
            number, factor = text.removesuffix(suffix), size
    if not number.isdigit() or int(number) < 1:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r}: expected a positive number of bytes such as 4194304 or 4Mi"
        )
    return int(number) * factor


def register(commands: Commands) -> None:
    """Add ``okr run`` to the subcommands."""
    run = commands.add_parser(
        "run",
        help="run the operator",
        description="Run the operator: watch OKR objects, evaluate key results against "
        "Prometheus, write status, serve /metrics and /healthz.",
    )
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace")
    scope.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="watch this namespace (repeatable; globs allowed)",
    )
    run.add_argument(
        "--prometheus-url",
        default=os.environ.get("OKR_PROMETHEUS_URL"),
        help="default Prometheus for key results without spec.sourceRef (env OKR_PROMETHEUS_URL)",
    )
    run.add_argument(
        "--query-language",
        type=QueryLanguage,
        default=QueryLanguage.PROMQL,
        choices=list(QueryLanguage),
        help="language of the --prometheus-url server: PromQL (default) or MetricsQL",
    )
    run.add_argument(
        "--status-interval",
        type=_duration,
        default=timedelta(minutes=5),
        help="write unchanged status at most this often (default 5m)",
    )
    run.add_argument(
        "--metrics-port",
        type=int,
        default=int(os.environ.get("OKR_METRICS_PORT", "8080")),
        help="port of /metrics (env OKR_METRICS_PORT, default 8080)",
    )
    run.add_argument(
        "--disable-metric",
        type=_families,
        action="extend",
        default=[],
        metavar="FAMILY[,FAMILY...]",
        help="leave this okr_key_result_* family out of /metrics (repeatable; default: all on)",
    )
    run.add_argument(
        "--web-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve the read-only web view (alignment map, key-result pages) from the "
        "operator's own state on this port (default: off)",
    )
    run.add_argument(
        "--liveness-port", type=int, default=8081, help="port of /healthz (default 8081)"
    )
    run.add_argument(
        "--bind-address",
        default="0.0.0.0",  # noqa: S104 - a pod serves its probes to the kubelet
        help="address for /metrics, /healthz, the webhook and the web view (default 0.0.0.0)",
    )
    run.add_argument(
        "--operator-namespace",
        default=os.environ.get("POD_NAMESPACE", "okr-system"),
        help="where ClusterPrometheusSources read Secrets (env POD_NAMESPACE, default okr-system)",
    )
    run.add_argument(
        "--concurrency", type=int, default=32, help="evaluations running at once (default 32)"
    )
    run.add_argument(
        "--max-concurrent-queries",
        type=_positive,
        default=DEFAULT_MAX_CONCURRENT_QUERIES,
        metavar="N",
        help="queries at once per source, unless its spec.maxConcurrentQueries says otherwise "
        f"(default {DEFAULT_MAX_CONCURRENT_QUERIES}); a hanging source fills only its own",
    )
    run.add_argument(
        "--max-response-bytes",
        type=_byte_size,
        default=DEFAULT_MAX_RESPONSE_BYTES,
        metavar="SIZE",
        help="refuse query answers larger than this (bytes, or with Ki/Mi/Gi; default 4Mi): "
        "reading stops there, so memory stays bounded",
    )
    run.add_argument(
        "--log-level",
        default=os.environ.get("OKR_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
    )
    run.add_argument(
        "--listing-timeout",
        type=_positive,
        default=120,
        metavar="SECONDS",
        help="evaluate what is known if the watches have not listed every kind this long "
        "after start (default 120); never while an RBAC rule to list or watch is missing",
    )
    peering = run.add_argument_group("high availability (kopf peering)")
    peering.add_argument(
        "--peering",
        metavar="NAME",
        help="run as one of several replicas: the kopf ClusterKopfPeering NAME (created if "
        "missing) elects the one that evaluates and writes; the others stand by "
        "(default: standalone, one replica)",
    )
    peering.add_argument(
        "--peering-priority",
        type=int,
        default=None,
        metavar="N",
        help="this replica's priority; the live replica with the highest one is active "
        "(default: minus the start time in microseconds, so a newer replica never displaces "
        "the active one)",
    )
    peering.add_argument(
        "--peering-lifetime",
        type=_positive,
        default=15,
        metavar="SECONDS",
        help="how long a replica's keep-alive counts: a standby takes over at most this long "
        "after the active replica dies (default 15; keep-alives go 5-10 s before it ends)",
    )
    webhook.add_arguments(run)
    run.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Run until interrupted."""
    if not args.all_namespaces and not args.namespace:
        raise SystemExit(
            "okr run: say which namespaces to watch: -A/--all-namespaces or --namespace NS"
        )
    if problem := webhook.problem(args):
        raise SystemExit(f"okr run: {problem}")
    logs.configure(args.log_level)
    asyncio.run(_run(args))
    return 0


async def _run(args: argparse.Namespace) -> None:
    # As many as evaluations may run at once: each may write status and post an
    # Event, and a smaller pool would make those writes the bottleneck.
    api_calls = ThreadPoolExecutor(max_workers=args.concurrency, thread_name_prefix="kube")
    api_client = load_api_client()
    permissions, reviews = _review_access(args, api_client, api_calls)
    kube = KubeApi(
        api_client, executor=api_calls, instance=socket.gethostname(), permissions=permissions
    )
    sources = SourceResolver(
        default_url=args.prometheus_url,
        kube=kube,
        operator_namespace=args.operator_namespace,
        max_concurrent_queries=args.max_concurrent_queries,
        default_language=args.query_language,
        max_response_bytes=args.max_response_bytes,
    )
    metrics = OkrMetrics(disabled=args.disable_metric)
    state = KopfState(plurals=WATCHED_PLURALS)
    loop_lag = asyncio.create_task(metrics.watch_event_loop(), name="okr-loop-lag")
    engine = Engine(
        resolver=sources,
        writer=kube,
        events=kube,
        observer=metrics,
        clock=SystemClock(),
        status_interval=args.status_interval,
        concurrency=args.concurrency,
    )
    server = MetricsServer(
        metrics.exposition,
        address=args.bind_address,
        port=args.metrics_port,
        ready=lambda: _ready(state, engine, permissions),
    ).start()
    registry, watches = build_registry(engine, sources)
    web_view = None
    if args.web_port is not None:

        def page(path: str, query: Mapping[str, str]) -> tuple[int, str]:
            answer = render_page(engine.snapshot(), path, query, now=datetime.now(UTC))
            return answer.status, answer.html

        web_view = await WebServer(page, address=args.bind_address, port=args.web_port).start()
    evaluations = asyncio.create_task(engine.run(), name="okr-engine")
    stop = asyncio.Event()

    async def step_down(reason: str) -> None:
        # Nothing more from this replica's state: the new active one restored its own.
        evaluations.cancel()
        stop.set()

    start, starting = _starter(
        permissions, engine, lambda: watches.restore(_lister(args, api_client, api_calls))
    )

    # Evaluations wait for the watches to list every kind (a restart is then
    # silent) and, with peering, for this replica to be the active one.
    leader = asyncio.create_task(
        lead(
            state,
            start=start,
            step_down=step_down,
            listing_timeout=float(args.listing_timeout),
        ),
        name="okr-leader",
    )
    settings = kopf.OperatorSettings()
    peering: dict[str, object] = {"standalone": True}
    if args.peering:
        settings.peering.lifetime = args.peering_lifetime
        settings.peering.stealth = True
        priority = args.peering_priority
        if priority is None:
            priority = -(time.time_ns() // 1000)
        peering = {"peering_name": args.peering, "priority": priority}
        kopf.on.startup(registry=registry)(_cluster_peering(kube, args.peering))
    webhook_tasks = (
        webhook.start(args, registry, api_client, api_calls, sources.language)
        if args.webhook_port
        else []
    )
    try:
        with state.attach():
            await kopf.operator(
                registry=registry,
                settings=settings,
                clusterwide=args.all_namespaces,
                namespaces=args.namespace,
                liveness_endpoint=f"http://{args.bind_address}:{args.liveness_port}/healthz",
                stop_flag=stop,
                **peering,  # type: ignore[arg-type]
            )
    finally:
        leader.cancel()
        for task in [reviews, *starting]:
            task.cancel()
        await kube.close()
        evaluations.cancel()
        loop_lag.cancel()
        server.close()
        if web_view is not None:
            await web_view.close()
        for task in webhook_tasks:
            task.cancel()
        sources.close()
        api_calls.shutdown(wait=False, cancel_futures=True)


def _lister(
    args: argparse.Namespace, api_client: ApiClient, api_calls: ThreadPoolExecutor
) -> ObjectListing:
    """One paged LIST per kind in the namespaces kopf watches (``--namespace`` or -A)."""
    namespaces = None if args.all_namespaces else args.namespace
    return ObjectListing(api_client, executor=api_calls, namespaces=namespaces)


def _starter(
    permissions: Permissions, engine: Engine, restore: Callable[[], Awaitable[None]]
) -> tuple[Callable[[], None], list[asyncio.Task[None]]]:
    """``start`` for ``lead``: the engine starts once every list and watch rule is granted.

    Never evaluate without the right to list and watch every kind: a key result
    whose Objective cannot be listed is not "ReferenceNotFound". Then every kind
    is listed once (``restore``) so the engine knows every object before it runs.
    """
    tasks: list[asyncio.Task[None]] = []

    async def when_permitted() -> None:
        await permissions.wait_watchable()
        await restore()
        engine.listed()

    return lambda: tasks.append(asyncio.create_task(when_permitted())), tasks


def _review_access(
    args: argparse.Namespace, api_client: ApiClient, api_calls: ThreadPoolExecutor
) -> tuple[Permissions, asyncio.Task[None]]:
    """The missing-rule record /readyz reads, and the task that reviews the rules."""
    permissions = Permissions()
    reviewer = AccessReviewer(
        api_client,
        executor=api_calls,
        rules=required_rules([] if args.all_namespaces else args.namespace),
        permissions=permissions,
    )
    return permissions, asyncio.create_task(reviewer.run(), name="okr-access-review")


def _cluster_peering(kube: KubeApi, name: str) -> Callable[..., Awaitable[None]]:
    """A startup handler: one ClusterKopfPeering for every replica, whatever the scope.

    kopf would use a KopfPeering in each served namespace for a namespaced
    operator, which cannot exist ahead of namespaces that match a pattern
    (``team-*``); one cluster-scoped object works for both scopes.
    """

    async def startup(settings: kopf.OperatorSettings, logger: logging.Logger, **_: Any) -> None:
        settings.peering.clusterwide = True
        if await kube.ensure_cluster_peering(name):
            logger.info(f"created ClusterKopfPeering {name}")

    return startup


def _ready(state: KopfState, engine: Engine, permissions: Permissions) -> tuple[bool, str]:
    # A missing rule first: it is what keeps the rest from ever getting ready.
    if problem := permissions.problem():
        return False, problem
    readiness = state.readiness(started=engine.started)
    return readiness.ready, readiness.reason
