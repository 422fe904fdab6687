#!/usr/bin/env python3
"""``make bench``: N KeyResults on the test bench, and what the operator costs.

Usage: hack/bench.py --count N [--interval 1m] [--duration 180] [--objectives K]
                     [--populate-timeout 900] [--scrape-every 5] [--restart-settle S]
                     [--raw-duration 120] [--keep]

What it does, in order (docs/performance.md says why each figure is measured so):

1. starts a throwaway Prometheus holding two hours of deterministic history for
   20 gauges and 20 counters (backfilled with promtool) that it keeps scraping
   live from a tiny exporter in this process, so ``[5m]`` windows stay full;
2. creates a fresh namespace ``bench-<random>``, starts ``okr run`` on it (as
   the bench admin, ``--status-interval 5m``) and watches both kinds there;
3. creates K Objectives and N KeyResults (``spec.interval`` 1m, mostly
   ``avg_over_time(...[5m])``) from 8 threads, and reports the creation rate;
4. measures the time from the first create to every object having a
   ``status.health`` (from the watch);
5. for ``--duration`` seconds of steady state: lateness, duration and
   event-loop lag quantiles from the operator's histograms, evaluations per
   second per 30 s slice, full gzip ``/metrics`` scrapes (time, bytes),
   status patches and Events, Prometheus queries and CPU per query;
6. restarts the operator: time until its /metrics holds every object again,
   then the status writes and Events in one more interval, classified;
7. runs hack/bench_raw_client.py (the same queries at the same rate from a
   bare aiohttp client) with the operator stopped: the raw ceiling;
8. over the whole run: the operator's RSS, and CPU seconds per phase of the
   operator, kube-apiserver, etcd, the throwaway Prometheus and itself.

It stops what it started (operators, Prometheus, exporter) by pid, deletes the
Objectives and KeyResults it created (unless ``--keep``), so that operators
other people start with ``-A`` later are not loaded with them, and leaves the
namespace (the bench runs no namespace controller). The Markdown report it
prints is also written to ``.testenv/bench-<N>.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import gzip
import itertools
import json
import math
import os
import random
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubernetes import client, config  # noqa: E402 - after the sys.path line above
from kubernetes import watch as k8s_watch  # noqa: E402
from kubernetes.client.exceptions import ApiException  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from tests.support.bench import Bench  # noqa: E402
from tests.support.kube import kubectl, testenv_dir  # noqa: E402
from tests.support.processes import LOOPBACK, RunningProcess, free_port  # noqa: E402
from tests.support.prometheus import (  # noqa: E402
    Series,
    openmetrics_text,
    start_prometheus_with_history,
)
from tests.support.runner import RunningOperator, start_operator  # noqa: E402

GROUP, VERSION = "okr.dev", "v1alpha1"
SERIES_COUNT = 20
HISTORY = timedelta(hours=2)
HISTORY_STEP = timedelta(minutes=1)
SCRAPE_INTERVAL = "15s"
SCRAPE_JOB = "bench"
CREATE_THREADS = 8
POLL_SECONDS = 0.2  # how often the populate wait looks at the watched statuses
TREND_SECONDS = 30.0  # one row of the trend table per this many seconds of steady state
SEED = 20261001
PERIOD_HALF = timedelta(days=45)
LATENESS_NAME = "okr_evaluation_lateness_seconds"
DURATION_NAME = "okr_evaluation_duration_seconds"
LOOP_LAG_NAME = "okr_event_loop_lag_seconds"
STATUS_INTERVAL = "5m"
SCRAPE_EVERY = 5.0  # the bench's full /metrics scrapes (Prometheus's default is every 30 s)
CONCURRENCY = 32  # okr run's default --concurrency, also the raw client's


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


# --------------------------------------------------------------------------- the data


def gauge_value(index: int, at: float) -> float:
    """Gauge ``index`` at unix time ``at``: a slow sine (periods 2 h to 6 h) around 100."""
    period = 7200.0 + 720.0 * index
    return round(100.0 + 20.0 * math.sin(2 * math.pi * at / period + index), 3)


def counter_rate(index: int) -> float:
    """Requests per second of counter ``index`` (constant, so rates are exact)."""
    return 5.0 + index


def counter_value(index: int, at: float) -> float:
    """Counter ``index`` at unix time ``at`` (monotone; started at a fixed epoch)."""
    return round(counter_rate(index) * (at - 1.7e9), 3)


def history_series(now: float, target: str) -> list[Series]:
    """The backfilled history: every series, one sample a minute, ending a minute ago.

    It carries the ``job`` and ``instance`` labels the live scrape of ``target``
    adds, so history and live samples are one series, not two (which would make
    every query ambiguous).
    """
    step = HISTORY_STEP.total_seconds()
    last = math.floor(now / step) * step - step
    times = [last - i * step for i in range(int(HISTORY.total_seconds() / step), -1, -1)]
    out = [
        Series("okr_bench_value", labels(i, target), [(t, gauge_value(i, t)) for t in times])
        for i in range(SERIES_COUNT)
    ]
    out += [
        Series(
            "okr_bench_requests_total",
            labels(i, target),
            [(t, counter_value(i, t)) for t in times],
        )
        for i in range(SERIES_COUNT)
    ]
    return out


def labels(index: int, target: str) -> dict[str, str]:
    return {"series": f"s{index:02d}", "job": SCRAPE_JOB, "instance": target}


def exposition(at: float) -> str:
    """The live exporter's text: the same functions as the history, at scrape time."""
    lines = ["# TYPE okr_bench_value gauge"]
    lines += [
        f'okr_bench_value{{series="s{i:02d}"}} {gauge_value(i, at)}' for i in range(SERIES_COUNT)
    ]
    lines.append("# TYPE okr_bench_requests_total counter")
    lines += [
        f'okr_bench_requests_total{{series="s{i:02d}"}} {counter_value(i, at)}'
        for i in range(SERIES_COUNT)
    ]
    return "\n".join(lines) + "\n"


class _ExporterHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = exposition(time.time()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class name
        """Quiet: one line per scrape would drown the report."""


@contextlib.contextmanager
def exporter() -> Iterator[str]:
    """Serve the live series on a free loopback port; yields ``host:port``."""
    server = ThreadingHTTPServer((LOOPBACK, free_port()), _ExporterHandler)
    thread = threading.Thread(target=server.serve_forever, name="bench-exporter", daemon=True)
    thread.start()
    try:
        yield f"{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def query_for(index: int) -> tuple[str, float]:
    """KeyResult ``index``'s query and the mean value it yields (to place the target).

    The mix is what a team's OKRs look like once recording rules exist: mostly
    a 5-minute average of a gauge, some plain selectors, some counter rates,
    and a 1-hour maximum (12x the samples of a 5m window).
    """
    series = f"s{index % SERIES_COUNT:02d}"
    kind = index % 10
    if kind == 7:
        return f'okr_bench_value{{series="{series}"}}', 100.0
    if kind == 8:
        rate = counter_rate(index % SERIES_COUNT)
        return f'sum(rate(okr_bench_requests_total{{series="{series}"}}[5m]))', rate
    if kind == 9:
        return f'max_over_time(okr_bench_value{{series="{series}"}}[1h])', 110.0
    return f'avg_over_time(okr_bench_value{{series="{series}"}}[5m])', 100.0


def objective_names(count: int) -> list[str]:
    """``company`` first, then the team objectives aligned to it."""
    return ["company"] + [f"team-{i:02d}" for i in range(1, count)]


def objective_body(ns: str, name: str, period: Mapping[str, str]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "title": f"Bench objective {name}",
        "owner": f"{name}@example.com",
        "period": dict(period),
    }
    if name != "company":
        spec["parentRef"] = {"name": "company"}
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Objective",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def key_result_body(
    ns: str, index: int, objective: str, interval: str, rng: random.Random
) -> dict[str, Any]:
    """KeyResult ``index``: progress spread from about 0.2 to past 1 around expected 0.5.

    Baseline 0 and target = mean / p for p in [0.2, 1.2), so health covers
    OffTrack, AtRisk, OnTrack and Achieved, and a few key results sit near a
    band edge and change health as their series moves, as real ones do.
    """
    query, mean = query_for(index)
    share = rng.uniform(0.2, 1.2)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "KeyResult",
        "metadata": {"name": f"kr-{index:05d}", "namespace": ns},
        "spec": {
            "objectiveRef": {"name": objective},
            "description": f"bench key result {index}",
            "owner": f"{objective}@example.com",
            "query": query,
            "baseline": 0,
            "target": round(mean / share, 3),
            "interval": interval,
        },
    }


# --------------------------------------------------------------------------- measuring


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """PromQL's ``histogram_quantile`` over cumulative ``(le, count)`` pairs, +Inf last.

    Linear interpolation inside the bucket holding the rank, 0 as the lower
    bound of the first bucket, and the highest finite bound when the rank
    falls in the +Inf bucket (as Prometheus does).
    """
    ordered = sorted(buckets)
    if not ordered or not math.isinf(ordered[-1][0]):
        raise ValueError("histogram_quantile: the buckets need a +Inf bucket")
    total = ordered[-1][1]
    if total <= 0:
        return math.nan
    rank = q * total
    lower, below = 0.0, 0.0
    for index, (upper, count) in enumerate(ordered):
        if count >= rank:
            if math.isinf(upper):
                return ordered[index - 1][0] if index > 0 else math.nan
            if index == 0 and upper <= 0:
                return upper
            inside = count - below
            return lower + (upper - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = upper, count
    return ordered[-2][0]


@dataclass(frozen=True)
class Scrape:
    """One read of a /metrics page: counters by (name, labels) and histogram buckets."""

    at: float  # time.monotonic()
    samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float]

    @classmethod
    def parse(cls, text: str, at: float) -> Scrape:
        samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return cls(at, samples)

    def total(self, name: str, **match: str) -> float:
        """Sum of ``name`` over every label set containing ``match``."""
        return sum(
            value
            for (sample, labels), value in self.samples.items()
            if sample == name and all((k, v) in labels for k, v in match.items())
        )

    def by_label(self, name: str, label: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for (sample, labels), value in self.samples.items():
            if sample == name:
                key = dict(labels).get(label, "")
                out[key] = out.get(key, 0.0) + value
        return out

    def buckets(self, histogram: str) -> dict[float, float]:
        return {
            float(dict(labels)["le"]): value
            for (sample, labels), value in self.samples.items()
            if sample == f"{histogram}_bucket"
        }


def bucket_delta(later: Scrape, earlier: Scrape, histogram: str) -> list[tuple[float, float]]:
    old = earlier.buckets(histogram)
    return [(le, count - old.get(le, 0.0)) for le, count in later.buckets(histogram).items()]


def read_proc(pid: int) -> tuple[float, int, int]:
    """(CPU seconds, VmRSS bytes, VmHWM bytes) of a live process."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces; the fields after its ")" are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15)
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return cpu, _kib(status["VmRSS"]), _kib(status["VmHWM"])


def _kib(text: str) -> int:
    return int(text.split(maxsplit=1)[0]) * 1024


def other_operators(own_pid: int, namespace: str, kubeconfig: Path) -> list[str]:
    """Other ``okr run`` processes here that watch ``namespace`` on our API server (read-only).

    Another operator started with ``-A`` (or a ``--namespace`` glob matching
    ours) with the same KUBECONFIG evaluates our objects too, posts its own
    Events on them and loads the same API server. One on another clone's bench
    only shares the cores.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in (own_pid, os.getpid()):
            continue
        with contextlib.suppress(OSError):
            words = [
                a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0")
            ]
            ours = "run" in words and any(w.endswith(("okr_operator", "/okr")) for w in words)
            if ours and watches(words, namespace) and same_api_server(entry, kubeconfig):
                found.append(f"pid {entry.name}: {' '.join(w for w in words if w)[:200]}")
    return found


def same_api_server(proc: Path, kubeconfig: Path) -> bool:
    """Whether the process at ``proc`` (/proc/<pid>) runs with our KUBECONFIG."""
    environ = (proc / "environ").read_bytes().split(b"\0")
    theirs = next((e[11:].decode() for e in environ if e.startswith(b"KUBECONFIG=")), "")
    return theirs == str(kubeconfig)


def watches(argv: Sequence[str], namespace: str) -> bool:
    """Whether ``okr run`` with ``argv`` watches ``namespace``."""
    patterns = []
    for index, word in enumerate(argv):
        if word in ("-A", "--all-namespaces"):
            return True
        if word.startswith("--namespace="):
            patterns.append(word.split("=", 1)[1])
        elif word in ("-n", "--namespace") and index + 1 < len(argv):
            patterns.append(argv[index + 1])
    return any(fnmatch.fnmatchcase(namespace, pattern) for pattern in patterns)


@dataclass
class ProcSampler:
    """Samples a process's RSS and CPU every second in a thread, for the trend."""

    pid: int
    points: list[tuple[float, float, int]] = field(default_factory=list)  # (mono, cpu, rss)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="bench-proc", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            with contextlib.suppress(OSError, KeyError, ValueError):
                cpu, rss, _hwm = read_proc(self.pid)
                self.points.append((time.monotonic(), cpu, rss))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def http_text(url: str, timeout: float = 10) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
        return str(response.read().decode())


# Samples the operator's /metrics?name[]= reads: its own counters and histograms only,
# so reading them costs neither side the 24 MB of 10,000 key results' lines.
OWN_SAMPLES = (
    "okr_evaluations_total",
    "okr_status_writes_total",
    *(
        f"{h}_{s}"
        for h in (LATENESS_NAME, DURATION_NAME, LOOP_LAG_NAME)
        for s in ("bucket", "count", "sum")
    ),
)
RESTORED_SAMPLES = (
    "okr_key_result_last_evaluation_timestamp_seconds",
    "okr_objective_last_evaluation_timestamp_seconds",
)


def metrics_url(operator: RunningOperator, samples: Sequence[str]) -> str:
    return f"{operator.metrics_url}?{urllib.parse.urlencode([('name[]', s) for s in samples])}"


def own_scrape(operator: RunningOperator) -> Scrape:
    """The operator's own instruments, parsed."""
    return Scrape.parse(http_text(metrics_url(operator, OWN_SAMPLES), timeout=30), time.monotonic())


@dataclass
class ScrapeTimer:
    """Full /metrics scrapes as Prometheus makes them (gzip), every ``every`` seconds, in a thread.

    Records each scrape's wall time (request to last byte), the bytes on the
    wire and the size uncompressed.
    """

    url: str
    every: float
    seconds: list[float] = field(default_factory=list)
    wire_bytes: list[int] = field(default_factory=list)
    raw_bytes: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="bench-scrape", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            started = time.monotonic()
            request = urllib.request.Request(self.url, headers={"Accept-Encoding": "gzip"})  # noqa: S310 - loopback
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                    body = response.read()
                    encoded = response.headers.get("Content-Encoding") == "gzip"
                self.seconds.append(time.monotonic() - started)
                self.wire_bytes.append(len(body))
                self.raw_bytes.append(len(gzip.decompress(body)) if encoded else len(body))
            except (OSError, urllib.error.URLError) as err:
                self.failures.append(f"{type(err).__name__}: {err}")
            if self._stop.wait(max(0.0, self.every - (time.monotonic() - started))):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)


def quantile(values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile of raw values (NaN for none)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


COMPONENTS = ("operator", "kube-apiserver", "etcd", "prometheus", "bench")


@dataclass
class CpuMeter:
    """CPU seconds of the processes sharing the cores, by component, at phase boundaries.

    ``prometheus`` is the bench's throwaway Prometheus, the one the key results
    query; the API server and etcd are the test bench's (each clone has its own,
    so nobody else's e2e runs are counted); ``bench`` is this process (creating,
    watching, scraping). The operator's pid changes at the restart.
    """

    pids: dict[str, int | None]
    marks: list[tuple[str, float, dict[str, float]]] = field(default_factory=list)
    # CPU of processes that have exited (the operator before its restart).
    _gone: dict[str, float] = field(default_factory=dict)

    def read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, pid in self.pids.items():
            try:
                own = 0.0 if pid is None else read_proc(pid)[0]
                out[name] = own + self._gone.get(name, 0.0)
            except (OSError, KeyError, ValueError):
                out[name] = math.nan
        return out

    def mark(self, phase: str) -> None:
        """The end of ``phase`` (the first mark is the start of everything)."""
        self.marks.append((phase, time.monotonic(), self.read()))

    def retire(self, name: str) -> None:
        """``name`` is about to exit: keep what it used so far (its shutdown is not counted)."""
        self._gone[name] = self.read()[name]
        self.pids[name] = None

    def replace(self, name: str, pid: int) -> None:
        """``name`` runs as ``pid`` from now on."""
        self.pids[name] = pid

    def phases(self) -> list[tuple[str, float, dict[str, float]]]:
        """(phase, wall seconds, CPU seconds by component) between consecutive marks."""
        return [
            (phase, t1 - t0, {k: cpu1[k] - cpu0.get(k, math.nan) for k in cpu1})
            for (_p, t0, cpu0), (phase, t1, cpu1) in itertools.pairwise(self.marks)
        ]


@dataclass(frozen=True)
class Change:
    """One MODIFIED event of a watched object: who wrote what."""

    at: float  # monotonic, on arrival
    plural: str
    name: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]


class ObjectWatch:
    """Every KeyResult and Objective of the namespace, kept current by one watch per kind.

    One watch costs the API server and etcd a fraction of listing N objects every
    two seconds (what the bench did before), and it is exact: populate time is
    when the last ``status.health`` arrives, and the writes a restart causes are
    the MODIFIED events it produced, whoever wrote them (the operator or kopf).
    """

    def __init__(self, api: client.ApiClient, ns: str) -> None:
        self._api, self._ns = api, ns
        self._lock = threading.Lock()
        self._status: dict[tuple[str, str], Mapping[str, Any]] = {}
        self.changes: list[Change] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._watch, args=(p,), name=f"bench-watch-{p}", daemon=True)
            for p in ("keyresults", "objectives")
        ]
        self._ready = threading.Barrier(len(self._threads) + 1)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        self._ready.wait(timeout=60)

    def stop(self) -> None:
        self._stop.set()

    def statuses(self) -> dict[tuple[str, str], Mapping[str, Any]]:
        with self._lock:
            return dict(self._status)

    def with_health(self) -> dict[str, int]:
        """Objects per kind whose status has a health."""
        counts = {"keyresults": 0, "objectives": 0}
        with self._lock:
            for (plural, _name), status in self._status.items():
                counts[plural] += 1 if status.get("health") else 0
        return counts

    def _watch(self, plural: str) -> None:
        custom = client.CustomObjectsApi(self._api)
        version: str | None = None
        ready = False
        while not self._stop.is_set():
            try:
                if version is None:
                    version = self._list(custom, plural)
                    if not ready:
                        ready = True
                        self._ready.wait(timeout=60)
                stream = k8s_watch.Watch().stream(
                    custom.list_namespaced_custom_object, GROUP, VERSION, self._ns, plural,
                    resource_version=version, timeout_seconds=120, allow_watch_bookmarks=True,
                )  # fmt: skip
                for event in stream:
                    version = self._apply(plural, event)
                    if version is None or self._stop.is_set():
                        break  # expired (410): list again; or stopped
            except ApiException as err:
                version = None if err.status == 410 else version
                self.errors.append(f"{plural}: {err.status} {err.reason}")
                time.sleep(1)
            except Exception as err:  # a broken stream is reopened, and reported
                self.errors.append(f"{plural}: {type(err).__name__}: {err}")
                time.sleep(1)

    def _list(self, custom: client.CustomObjectsApi, plural: str) -> str:
        response: Any = custom.list_namespaced_custom_object(
            GROUP, VERSION, self._ns, plural, _preload_content=False
        )
        listing = json.loads(response.data)
        with self._lock:
            for item in listing["items"]:
                self._status[(plural, item["metadata"]["name"])] = item.get("status") or {}
        return str(listing["metadata"]["resourceVersion"])

    def _apply(self, plural: str, event: Mapping[str, Any]) -> str | None:
        """Record one watch event; the resourceVersion to resume from (None: list again)."""
        obj, kind = event["object"], event["type"]
        if kind == "ERROR":
            return None
        version = str(obj["metadata"]["resourceVersion"])
        if kind == "BOOKMARK":
            return version
        key = (plural, obj["metadata"]["name"])
        with self._lock:
            if kind == "DELETED":
                self._status.pop(key, None)
                return version
            before = self._status.get(key, {})
            self._status[key] = obj.get("status") or {}
            if kind == "MODIFIED":
                self.changes.append(
                    Change(time.monotonic(), plural, key[1], before, self._status[key])
                )
        return version


# --------------------------------------------------------------------------- the API


def api_client(kubeconfig: Path) -> client.ApiClient:
    """A client whose connection pool fits the create threads (the default is 4)."""
    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig), client_configuration=configuration
    )
    configuration.connection_pool_maxsize = CREATE_THREADS * 2
    return client.ApiClient(configuration)


def install_crds(kubeconfig: Path) -> None:
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"),
            kubeconfig=kubeconfig)  # fmt: skip
    for crd in ("keyresults", "objectives", "prometheussources", "clusterprometheussources"):
        kubectl("wait", "--for=condition=Established", f"crd/{crd}.okr.dev", "--timeout=60s",
                kubeconfig=kubeconfig)  # fmt: skip


def list_objects(custom: client.CustomObjectsApi, ns: str, plural: str) -> list[dict[str, Any]]:
    """Every object of ``plural`` in ``ns`` (raw JSON: 10x faster than the models)."""
    response: Any = custom.list_namespaced_custom_object(
        GROUP, VERSION, ns, plural, _preload_content=False
    )
    items: list[dict[str, Any]] = json.loads(response.data)["items"]
    return items


def create_all(custom: client.CustomObjectsApi, bodies: Sequence[Mapping[str, Any]]) -> float:
    """Create ``bodies`` from a thread pool; returns the seconds it took."""

    def create(body: Mapping[str, Any]) -> None:
        plural = "objectives" if body["kind"] == "Objective" else "keyresults"
        custom.create_namespaced_custom_object(
            GROUP, VERSION, body["metadata"]["namespace"], plural, dict(body)
        )

    started = time.monotonic()
    with ThreadPoolExecutor(CREATE_THREADS, thread_name_prefix="bench-create") as pool:
        list(pool.map(create, bodies))
    return time.monotonic() - started


def events_between(core: client.CoreV1Api, ns: str, start: float, end: float) -> dict[str, int]:
    """Events created in ``ns`` in [start, end) (unix seconds, second resolution), by reason."""
    response: Any = core.list_namespaced_event(ns, _preload_content=False)
    counts: dict[str, int] = {}
    for event in json.loads(response.data)["items"]:
        created = datetime.fromisoformat(
            event["metadata"]["creationTimestamp"].replace("Z", "+00:00")
        ).timestamp()
        if math.floor(start) <= created < math.ceil(end):
            reason = event.get("reason") or ""
            counts[reason] = counts.get(reason, 0) + 1
    return counts


def delete_created(custom: client.CustomObjectsApi, ns: str) -> str:
    done = []
    for plural in ("keyresults", "objectives"):
        try:
            custom.delete_collection_namespaced_custom_object(GROUP, VERSION, ns, plural)
            done.append(plural)
        except ApiException as err:
            done.append(f"{plural} NOT deleted ({err.status} {err.reason})")
    return ", ".join(done)


# --------------------------------------------------------------------------- the run


@dataclass
class Result:
    """Everything the report prints."""

    count: int
    objectives: int
    interval: str
    namespace: str
    status_interval: float
    operator: str = ""
    load_before: str = ""
    load_after: str = ""
    create_seconds: float = math.nan
    populate_seconds: float = math.nan
    populate_after_last_create: float = math.nan
    steady_seconds: float = math.nan
    lateness_p50: float = math.nan
    lateness_p99: float = math.nan
    lateness_max_bucket: str = ""
    duration_p50: float = math.nan
    duration_p99: float = math.nan
    loop_lag_p50: float = math.nan
    loop_lag_p99: float = math.nan
    loop_lag_max_bucket: str = ""
    evaluations: Mapping[str, float] = field(default_factory=dict)
    status_writes: Mapping[str, float] = field(default_factory=dict)
    events: Mapping[str, int] = field(default_factory=dict)
    prometheus_queries: float = math.nan
    scrape_p50: float = math.nan
    scrape_p99: float = math.nan
    scrapes: int = 0
    scrape_wire_bytes: int = 0
    scrape_raw_bytes: int = 0
    scrape_failures: list[str] = field(default_factory=list)
    rss_peak: int = 0
    rss_end: int = 0
    restart: RestartResult | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    raw_prometheus_queries: float = math.nan
    cpu_phases: list[tuple[str, float, dict[str, float]]] = field(default_factory=list)
    trend: list[TrendRow] = field(default_factory=list)
    health: Mapping[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def nominal(self) -> float:
        return self.count / _seconds(self.interval)

    def phase_cpu(self, phase: str, component: str) -> float:
        for name, _wall, cpu in self.cpu_phases:
            if name == phase:
                return cpu.get(component, math.nan)
        return math.nan

    def phase_wall(self, phase: str) -> float:
        return next((wall for name, wall, _cpu in self.cpu_phases if name == phase), math.nan)


@dataclass(frozen=True)
class TrendRow:
    """One slice of the steady state: is the load flat, does lateness or memory grow?"""

    at: float  # seconds since the window started
    evaluations_per_second: float
    lateness_p50: float
    lateness_p99: float
    loop_lag_p99: float
    rss: int


@dataclass(frozen=True)
class Window:
    """The steady-state window: wall clock (for Events) and the operator's scrapes."""

    wall_start: float
    wall_end: float
    scrapes: Sequence[Scrape]
    prometheus_first: Scrape
    prometheus_last: Scrape


@dataclass
class RestartResult:
    """What a restart of the operator cost, and what it wrote."""

    stop_seconds: float = math.nan  # SIGTERM to exit
    live_seconds: float = math.nan  # start to /healthz answering
    restored_seconds: float = math.nan  # start to /metrics holding every object
    settle_seconds: float = math.nan  # watched after that
    writes: dict[str, int] = field(default_factory=dict)  # MODIFIED events, classified
    restart_writes: list[str] = field(default_factory=list)  # examples of the restart's own
    events: dict[str, int] = field(default_factory=dict)  # Events in the window, by reason
    status_writes_counter: float = math.nan  # the new operator's okr_status_writes_total
    flips: int = 0  # objects whose health changed and came back
    rss_peak: int = 0


def wait_populated(
    watch: ObjectWatch, want: Mapping[str, int], timeout: float, operator: RunningOperator
) -> float:
    """Wait until every object has a status.health; returns that monotonic time (+-0.2 s)."""
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        if operator.process.poll() is not None:
            raise BenchError(f"okr run exited with {operator.process.returncode}:\n"
                             f"{operator.log_tail()}")  # fmt: skip
        counts = watch.with_health()
        if all(counts.get(plural, 0) >= total for plural, total in want.items()):
            return time.monotonic()
        time.sleep(POLL_SECONDS)
    missing = {p: total - counts.get(p, 0) for p, total in want.items()}
    raise BenchError(f"not every status was populated within {timeout:.0f}s; missing {missing}"
                     f"; watch errors {watch.errors[-3:]}\n{operator.log_tail()}")  # fmt: skip


def steady_window(
    operator: RunningOperator, prometheus: RunningProcess, duration: float, timer: ScrapeTimer
) -> Window:
    """Read the operator's own metrics at the start, every TREND_SECONDS and at the end."""
    prometheus_first = Scrape.parse(http_text(f"{prometheus.url}/metrics"), time.monotonic())
    scrapes = [own_scrape(operator)]
    wall_start = time.time()
    timer.start()
    end = scrapes[0].at + duration
    try:
        while (now := time.monotonic()) < end - 0.5:
            time.sleep(min(TREND_SECONDS - (now - scrapes[0].at) % TREND_SECONDS, end - now))
            scrapes.append(own_scrape(operator))
            if operator.process.poll() is not None:
                raise BenchError(f"okr run exited during the steady state:\n{operator.log_tail()}")
    finally:
        timer.stop()
    wall_end = time.time()
    prometheus_last = Scrape.parse(http_text(f"{prometheus.url}/metrics"), time.monotonic())
    return Window(wall_start, wall_end, scrapes, prometheus_first, prometheus_last)


def summarise(result: Result, window: Window, sampler: ProcSampler, timer: ScrapeTimer) -> None:
    """Fill the steady-state figures of ``result`` from the window's scrapes."""
    first, last = window.scrapes[0], window.scrapes[-1]
    result.steady_seconds = last.at - first.at
    lateness = bucket_delta(last, first, LATENESS_NAME)
    result.lateness_p50 = histogram_quantile(0.5, lateness)
    result.lateness_p99 = histogram_quantile(0.99, lateness)
    result.lateness_max_bucket = highest_bucket(lateness)
    finite = sorted(le for le, _count in lateness if not math.isinf(le))
    if finite and result.lateness_p50 <= finite[0]:
        result.notes.append(
            f"lateness p50 lies in the histogram's first bucket (0, {finite[0]:g} s]: the "
            "figure is a linear interpolation inside it, so read it as 'under "
            f"{finite[0] * 1000:g} ms'"
        )
    lag = bucket_delta(last, first, LOOP_LAG_NAME)
    result.loop_lag_p50 = histogram_quantile(0.5, lag)
    result.loop_lag_p99 = histogram_quantile(0.99, lag)
    result.loop_lag_max_bucket = highest_bucket(lag)
    took = bucket_delta(last, first, DURATION_NAME)
    result.duration_p50 = histogram_quantile(0.5, took)
    result.duration_p99 = histogram_quantile(0.99, took)
    result.evaluations = delta_by(last, first, "okr_evaluations_total", "result")
    result.status_writes = delta_by(last, first, "okr_status_writes_total", "kind")
    result.prometheus_queries = window.prometheus_last.total(
        "prometheus_http_requests_total", handler="/api/v1/query"
    ) - window.prometheus_first.total("prometheus_http_requests_total", handler="/api/v1/query")
    result.scrapes = len(timer.seconds)
    result.scrape_p50 = quantile(timer.seconds, 0.5)
    result.scrape_p99 = quantile(timer.seconds, 0.99)
    result.scrape_wire_bytes = max(timer.wire_bytes, default=0)
    result.scrape_raw_bytes = max(timer.raw_bytes, default=0)
    result.scrape_failures = timer.failures
    for earlier, later in itertools.pairwise(window.scrapes):
        slice_ = bucket_delta(later, earlier, LATENESS_NAME)
        near = min(sampler.points, key=lambda p: abs(p[0] - later.at), default=None)
        result.trend.append(
            TrendRow(
                at=later.at - first.at,
                evaluations_per_second=sum(
                    delta_by(later, earlier, "okr_evaluations_total", "result").values()
                )
                / (later.at - earlier.at),
                lateness_p50=histogram_quantile(0.5, slice_),
                lateness_p99=histogram_quantile(0.99, slice_),
                loop_lag_p99=histogram_quantile(0.99, bucket_delta(later, earlier, LOOP_LAG_NAME)),
                rss=near[2] if near else 0,
            )
        )


def restart_operator(
    *,
    start: Callable[[], RunningOperator],
    operator: RunningOperator,
    watch: ObjectWatch,
    core: client.CoreV1Api,
    ns: str,
    want: Mapping[str, int],
    settle: float,
    status_interval: float,
    cpu: CpuMeter,
) -> tuple[RunningOperator, RestartResult]:
    """Stop the operator, start a new one, and see what the new one writes.

    Restored means the new operator's /metrics holds every object's
    ``*_last_evaluation_timestamp_seconds`` (read back from status, or evaluated).
    Then it watches ``settle`` seconds more (one interval and a bit: every key
    result is evaluated once) and classifies each status write in the window:
    a refresh due anyway (``status_interval`` after the previous write), a
    health change that stayed, or one the restart caused (anything else).
    """
    out = RestartResult()
    before = watch.statuses()
    changes_from = len(watch.changes)
    wall_from = time.time()
    stopping = time.monotonic()
    cpu.retire("operator")
    operator.stop()
    out.stop_seconds = time.monotonic() - stopping
    cpu.mark("restart: stop")
    starting = time.monotonic()
    new = start()
    cpu.replace("operator", new.process.pid)
    out.live_seconds = time.monotonic() - starting
    url = metrics_url(new, RESTORED_SAMPLES)
    deadline = starting + 600
    names = dict(zip(RESTORED_SAMPLES, ("keyresults", "objectives"), strict=True))
    while time.monotonic() < deadline:
        text = http_text(url, timeout=30)
        seen = {plural: text.count(f"\n{sample}{{") for sample, plural in names.items()}
        if all(seen[p] >= total for p, total in want.items()):
            out.restored_seconds = time.monotonic() - starting
            break
        if new.process.poll() is not None:
            raise BenchError(f"the restarted okr run exited:\n{new.log_tail()}")
        time.sleep(0.5)
    cpu.mark("restart: until restored")
    settled = time.monotonic()
    time.sleep(settle)
    out.settle_seconds = time.monotonic() - settled
    cpu.mark("restart: settle")
    out.status_writes_counter = own_scrape(new).total("okr_status_writes_total")
    out.rss_peak = read_proc(new.process.pid)[2]
    after = watch.statuses()
    per_object: dict[tuple[str, str], list[Change]] = {}
    for change in watch.changes[changes_from:]:
        per_object.setdefault((change.plural, change.name), []).append(change)
    writes = {"due refresh": 0, "health changed and stayed": 0, "caused by the restart": 0}
    for key, changes in per_object.items():
        old, new_status = before.get(key, {}), after.get(key, {})
        if old.get("health") != new_status.get("health") and len(changes) == 1:
            writes["health changed and stayed"] += 1
            continue
        for change in changes:
            if _refresh_due(change, status_interval):
                writes["due refresh"] += 1
            else:
                writes["caused by the restart"] += 1
                if len(out.restart_writes) < 3:
                    out.restart_writes.append(f"{key[0]}/{key[1]}: {_status_diff(change)}")
        healths = [c.after.get("health") for c in changes]
        if old.get("health") == new_status.get("health") and any(
            h != old.get("health") for h in healths
        ):
            out.flips += 1
    out.writes = writes
    out.events = events_between(core, ns, wall_from, time.time())
    return new, out


def _refresh_due(change: Change, status_interval: float) -> bool:
    """A write ``status_interval`` after the previous one that changed no health."""
    if change.before.get("health") != change.after.get("health"):
        return False
    try:
        previous = _parse_time(change.before["lastEvaluationTime"])
        now = _parse_time(change.after["lastEvaluationTime"])
    except (KeyError, TypeError, ValueError):
        return False
    return now - previous >= status_interval - 2.0


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _status_diff(change: Change) -> str:
    keys = sorted(set(change.before) | set(change.after))
    diff = [k for k in keys if change.before.get(k) != change.after.get(k)]
    return "changed " + ", ".join(diff[:6]) if diff else "no status field changed"


def raw_ceiling(
    *,
    prometheus: RunningProcess, queries: Sequence[str], interval: float, duration: float,
    concurrency: int, workdir: Path,
) -> tuple[dict[str, Any], float]:  # fmt: skip
    """Run hack/bench_raw_client.py against ``prometheus``; its report and the queries it saw."""
    path = workdir / "raw-queries.json"
    path.write_text(json.dumps(list(queries)))
    before = Scrape.parse(http_text(f"{prometheus.url}/metrics"), time.monotonic())
    ran = subprocess.run(
        [sys.executable, str(ROOT / "hack" / "bench_raw_client.py"), prometheus.url, str(path),
         "--interval", str(interval), "--duration", str(duration),
         "--concurrency", str(concurrency)],
        capture_output=True, text=True, check=False, timeout=duration + 300,
    )  # fmt: skip
    after = Scrape.parse(http_text(f"{prometheus.url}/metrics"), time.monotonic())
    if ran.returncode != 0:
        raise BenchError(f"the raw client failed ({ran.returncode}): {ran.stderr[-2000:]}")
    seen = after.total("prometheus_http_requests_total", handler="/api/v1/query") - before.total(
        "prometheus_http_requests_total", handler="/api/v1/query"
    )
    return json.loads(ran.stdout), seen


def highest_bucket(buckets: Sequence[tuple[float, float]]) -> str:
    """The smallest ``le`` that holds every observation (a bound on the maximum)."""
    ordered = sorted(buckets)
    total = ordered[-1][1] if ordered else 0.0
    for le, count in ordered:
        if count >= total:
            return "+Inf" if math.isinf(le) else f"<= {le:g} s"
    return "n/a"


def delta_by(later: Scrape, earlier: Scrape, name: str, label: str) -> dict[str, float]:
    old = earlier.by_label(name, label)
    return {k: v - old.get(k, 0.0) for k, v in sorted(later.by_label(name, label).items())}


def health_counts(statuses: Mapping[tuple[str, str], Mapping[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (plural, _name), status in statuses.items():
        key = f"{plural}/{status.get('health', 'none')}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def error_lines(log_path: Path) -> list[str]:
    """Lines of the operator's log at level ERROR or with a traceback."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return [
        line
        for line in text.splitlines()
        if '"level": "error"' in line.lower()
        or '"level":"error"' in line.lower()
        or "traceback" in line.lower()
    ]


def testenv_pids() -> dict[str, int]:
    """The bench's kube-apiserver and etcd pids (``hack/testenv.py`` records them)."""
    state = json.loads((testenv_dir() / "state.json").read_text())
    return {name: int(state["pids"][name]) for name in ("kube-apiserver", "etcd")}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(args: argparse.Namespace) -> Result:
    bench = Bench.load()
    problems = bench.health_problems()
    if problems:
        raise BenchError("the test bench is not healthy: " + "; ".join(problems))
    objectives = args.objectives or max(1, round(args.count / 50))
    ns = f"bench-{secrets.token_hex(3)}"
    status_interval = _seconds(STATUS_INTERVAL)
    result = Result(args.count, objectives, args.interval, ns, status_interval,
                    operator_description(), load_before=load_average())  # fmt: skip
    workdir = testenv_dir() / "bench" / ns
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"bench: {args.count} KeyResults, {objectives} Objectives in namespace {ns}; "
          f"files in {workdir}; load average {result.load_before}", flush=True)  # fmt: skip

    install_crds(bench.kubeconfig)
    api = api_client(bench.kubeconfig)
    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=ns, labels={"okr.dev/bench": "true"}))
    )

    now = time.time()
    rng = random.Random(SEED)
    names = objective_names(objectives)
    start = datetime.fromtimestamp(now, UTC) - PERIOD_HALF
    period = {"start": start.isoformat(), "end": (start + 2 * PERIOD_HALF).isoformat()}
    teams = names[1:] or names
    bodies = [objective_body(ns, name, period) for name in names]
    bodies += [
        key_result_body(ns, i, teams[i % len(teams)], args.interval, rng) for i in range(args.count)
    ]
    want = {"keyresults": args.count, "objectives": objectives}

    # Stopped in reverse order: watch, sampler, (delete objects,) operator, Prometheus, exporter.
    with contextlib.ExitStack() as stack:
        target = stack.enter_context(exporter())
        prometheus = start_prometheus_with_history(
            openmetrics_text(history_series(now, target)),
            workdir / "prometheus",
            extra_config={
                "global": {"scrape_interval": SCRAPE_INTERVAL},
                "scrape_configs": [
                    {"job_name": SCRAPE_JOB, "static_configs": [{"targets": [target]}]}
                ],
            },
        )
        stack.callback(_remove_data, prometheus)
        stack.callback(prometheus.stop)
        if not args.keep:
            # After the operator has stopped (the stack unwinds in reverse): deleted
            # under a running operator, members vanish one by one and it would post
            # HealthChanged Events about the teardown. No finalizers hold them.
            stack.callback(lambda: print(f"bench: deleted {delete_created(custom, ns)} in {ns} "
                                         "(the namespace stays)", flush=True))  # fmt: skip
        launches = itertools.count()

        def launch() -> RunningOperator:
            return start_operator(
                kubeconfig=bench.kubeconfig,
                prometheus_url=prometheus.url,
                workdir=workdir / f"operator-{next(launches)}",
                namespaces=[ns],
                status_interval=STATUS_INTERVAL,
            )

        operator = launch()
        running = [operator]

        def stop_current() -> None:
            running[-1].stop()  # the restarted one, after a restart

        stack.callback(stop_current)
        watch = ObjectWatch(api, ns)
        watch.start()
        stack.callback(watch.stop)
        pid = operator.process.pid
        sampler = ProcSampler(pid)
        sampler.start()
        stack.callback(sampler.stop)
        cpu = CpuMeter(
            {"operator": pid, **testenv_pids(), "prometheus": prometheus.pid, "bench": os.getpid()}
        )
        cpu.mark("start")

        result.create_seconds = create_all(custom, bodies)
        created = time.monotonic()
        cpu.mark("create")
        print(f"bench: created {len(bodies)} objects in {result.create_seconds:.1f}s",
              flush=True)  # fmt: skip
        populated = wait_populated(watch, want, args.populate_timeout, operator)
        result.populate_seconds = populated - (created - result.create_seconds)
        result.populate_after_last_create = populated - created
        cpu.mark("populate (after the last create)")
        print(f"bench: every status populated {result.populate_seconds:.1f}s after the first "
              f"create; steady state for {args.duration:.0f}s", flush=True)  # fmt: skip

        timer = ScrapeTimer(operator.metrics_url, args.scrape_every)
        window = steady_window(operator, prometheus, args.duration, timer)
        cpu.mark("steady state")
        _cpu, result.rss_end, result.rss_peak = read_proc(pid)
        sampler.stop()
        summarise(result, window, sampler, timer)
        result.events = events_between(core, ns, window.wall_start, window.wall_end)
        result.health = health_counts(watch.statuses())
        others = other_operators(pid, ns, bench.kubeconfig)
        if others:
            result.notes.append(
                "other okr operators on this API server whose arguments match this namespace "
                "ran at the end of the steady state; they also evaluated these objects and "
                "posted Events here: " + "; ".join(others)
            )
        errors = error_lines(operator.log_path)
        if errors:
            result.notes.append(
                f"the operator logged {len(errors)} error lines; first: {errors[0][:300]}"
            )

        if args.restart_settle > 0:
            print("bench: restarting the operator", flush=True)
            settle = args.restart_settle
            operator, result.restart = restart_operator(
                start=launch, operator=operator, watch=watch, core=core, ns=ns, want=want,
                settle=settle, status_interval=status_interval, cpu=cpu,
            )  # fmt: skip
            running.append(operator)
            print(f"bench: restored {result.restart.restored_seconds:.1f}s after the restart",
                  flush=True)  # fmt: skip
        if args.raw_duration > 0:
            cpu.retire("operator")
            operator.stop()  # the raw client has Prometheus to itself
            cpu.mark("operator stopped")
            print(f"bench: raw client for {args.raw_duration:.0f}s", flush=True)
            queries = [query_for(i)[0] for i in range(args.count)]
            result.raw, result.raw_prometheus_queries = raw_ceiling(
                prometheus=prometheus, queries=queries, interval=_seconds(args.interval),
                duration=args.raw_duration, concurrency=CONCURRENCY, workdir=workdir,
            )  # fmt: skip
            cpu.mark("raw client")
        result.cpu_phases = cpu.phases()
        result.load_after = load_average()
    return result


def _remove_data(prometheus: RunningProcess) -> None:
    # Its TSDB is a throwaway; the log next to it stays for a look afterwards.
    shutil.rmtree(prometheus.workdir / "data", ignore_errors=True)


# --------------------------------------------------------------------------- the report


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def _mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def _kb(size: int) -> str:
    return f"{size / 1000:,.0f} kB"


def _share(cpu: float, wall: float) -> str:
    return "n/a" if math.isnan(cpu) or not wall else f"{cpu:.1f} s ({cpu / wall * 100:.0f} %)"


def targets(result: Result) -> list[tuple[str, str, str, bool | None]]:
    """Issue 7's targets: (what, target, measured, met; None when not measured)."""
    window = result.steady_seconds
    evals = sum(result.evaluations.values())
    rate = evals / window if window else math.nan
    slices = [row.evaluations_per_second for row in result.trend]
    worst = max((abs(s / result.nominal - 1) for s in slices), default=math.nan)
    writes = sum(result.status_writes.values())
    changes = result.events.get("HealthChanged", 0)
    allowed = result.count * window / result.status_interval + changes
    steady_cpu = result.phase_cpu("steady state", "operator")
    rows: list[tuple[str, str, str, bool | None]] = [
        ("last create → every status has a health", "≤ 60 s",
         f"{result.populate_after_last_create:.1f} s", result.populate_after_last_create <= 60),
        ("evaluations/s", f"within 2 % of {result.nominal:.2f}",
         f"{rate:.2f} ({(rate / result.nominal - 1) * 100:+.1f} %)",
         abs(rate / result.nominal - 1) <= 0.02),
        ("every 30 s slice", "within ±25 %",
         f"{min(slices, default=math.nan):.1f} to {max(slices, default=math.nan):.1f}/s "
         f"(worst {worst * 100:.0f} %)", worst <= 0.25),
        ("evaluation lateness p99", "≤ 1 s", _ms(result.lateness_p99), result.lateness_p99 <= 1),
        ("/metrics scrape p99", "≤ 0.5 s", _ms(result.scrape_p99), result.scrape_p99 <= 0.5),
        ("operator RSS peak", "≤ 300 MiB", _mib(result.rss_peak), result.rss_peak <= 300 * 2**20),
        ("operator CPU in steady state", "≤ 60 % of a core",
         f"{steady_cpu / window * 100:.1f} %" if window else "n/a",
         steady_cpu / window <= 0.6 if window else None),
        ("API-server writes in the window", "≤ N / status-interval + real changes",
         f"{writes:.0f} status patches for ≤ {allowed:.0f} ({changes} health changes)",
         writes <= allowed),
    ]  # fmt: skip
    restart = result.restart
    if restart is not None:
        caused = restart.writes.get("caused by the restart", 0)
        flips = sum(n for reason, n in restart.events.items() if reason == "HealthChanged")
        flips -= restart.writes.get("health changed and stayed", 0)
        rows += [
            ("restart: writes and Events it caused", "0 and 0",
             f"{caused} writes, {restart.flips} flips, {max(flips, 0)} extra HealthChanged",
             caused == 0 and restart.flips == 0 and flips <= 0),
            ("restart → every object restored and exported", "≤ 60 s",
             f"{restart.restored_seconds:.1f} s", restart.restored_seconds <= 60),
        ]  # fmt: skip
    return rows


def report(result: Result, machine: str) -> str:
    evals = sum(result.evaluations.values())
    writes = sum(result.status_writes.values())
    events = sum(result.events.values())
    window = result.steady_seconds

    def per_s(n: float) -> str:
        return f"{n / window:.2f}/s" if window > 0 else "n/a"

    results = ", ".join(f"{k} {v:.0f}" for k, v in result.evaluations.items()) or "none"
    kinds = ", ".join(f"{k} {v:.0f}" for k, v in result.status_writes.items()) or "none"
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(result.events.items())) or "none"
    prometheus_cpu = result.phase_cpu("steady state", "prometheus")
    rows = [
        ("Key results / objectives", f"{result.count} / {result.objectives} "
                                     f"(interval {result.interval}, status-interval "
                                     f"{STATUS_INTERVAL})"),
        ("Create rate (8 client threads)",
         f"{result.count + result.objectives} objects in {result.create_seconds:.1f} s "
         f"({(result.count + result.objectives) / result.create_seconds:.0f}/s)"),
        ("First create to every status.health",
         f"{result.populate_seconds:.1f} s (watched, +-{POLL_SECONDS:g} s; "
         f"{result.populate_after_last_create:.1f} s after the last create)"),
        ("Steady-state window", f"{window:.0f} s"),
        ("Evaluation lateness p50 / p99", f"{_ms(result.lateness_p50)} / "
                                          f"{_ms(result.lateness_p99)} "
                                          f"(max {result.lateness_max_bucket})"),
        ("Evaluation duration p50 / p99", f"{_ms(result.duration_p50)} / "
                                          f"{_ms(result.duration_p99)}"),
        ("Operator event-loop lag p50 / p99", f"{_ms(result.loop_lag_p50)} / "
                                              f"{_ms(result.loop_lag_p99)} "
                                              f"(max {result.loop_lag_max_bucket})"),
        ("Evaluations", f"{per_s(evals)} ({results}); nominal {result.nominal:.2f}/s"),
        ("/metrics scrape (gzip) p50 / p99",
         f"{_ms(result.scrape_p50)} / {_ms(result.scrape_p99)} over {result.scrapes} scrapes "
         f"(every {SCRAPE_EVERY:g} s); {_kb(result.scrape_wire_bytes)} on the wire, "
         f"{_kb(result.scrape_raw_bytes)} uncompressed"
         + (f"; {len(result.scrape_failures)} failed: {result.scrape_failures[0]}"
            if result.scrape_failures else "")),
        ("API-server writes", f"{per_s(writes + events)} (status patches {kinds}; "
                              f"Events {events}: {reasons})"),
        ("Prometheus queries", f"{per_s(result.prometheus_queries)} "
                               f"({result.prometheus_queries:.0f} /api/v1/query; "
                               f"{_per_query(prometheus_cpu, result.prometheus_queries)} "
                               "Prometheus CPU per query)"),
        ("Operator RSS peak / end", f"{_mib(result.rss_peak)} / {_mib(result.rss_end)}"),
        ("Health at the end", ", ".join(f"{k} {v}" for k, v in result.health.items())),
    ]  # fmt: skip
    restart = result.restart
    if restart is not None:
        rows += [
            ("Restart: stop / live / every object restored in /metrics",
             f"{restart.stop_seconds:.1f} s / {restart.live_seconds:.1f} s / "
             f"{restart.restored_seconds:.1f} s after the start"),
            (f"Restart: writes in the {restart.settle_seconds:.0f} s after restored",
             ", ".join(f"{k} {v}" for k, v in restart.writes.items())
             + f"; okr_status_writes_total {restart.status_writes_counter:.0f}"
             + (f" (e.g. {'; '.join(restart.restart_writes)})" if restart.restart_writes else "")),
            ("Restart: Events; health flips",
             (", ".join(f"{k} {v}" for k, v in sorted(restart.events.items())) or "none")
             + f"; {restart.flips}"),
            ("Restart: RSS peak of the new operator", _mib(restart.rss_peak)),
        ]  # fmt: skip
    raw = result.raw
    if raw:
        raw_cpu = result.phase_cpu("raw client", "prometheus")
        rows += [
            ("Raw client (same queries, same rate, aiohttp)",
             f"{raw['queries_per_second']:.2f} queries/s for {raw['nominal_per_second']:.2f} "
             f"nominal over {raw['seconds_sending']:.0f} s; latency p50 / p99 "
             f"{_ms(raw['latency_p50'])} / {_ms(raw['latency_p99'])}; errors "
             f"{sum(raw['errors'].values())}; its own CPU {raw['cpu_seconds']:.1f} s"),
            ("Prometheus CPU per query: operator / raw client",
             f"{_per_query(prometheus_cpu, result.prometheus_queries)} / "
             f"{_per_query(raw_cpu, result.raw_prometheus_queries)}"),
        ]  # fmt: skip
    lines = [
        f"## okr-operator bench, N={result.count} ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Machine: {machine}; load average (1, 5, 15 min) before {result.load_before}, "
        f"after {result.load_after}. Operator: {result.operator}. Namespace "
        f"`{result.namespace}`.",
        "",
        "| Measure | Value |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in rows],
        "",
        "Targets of issue 7 (set for N=10,000; shown for every N):",
        "",
        "| Target | Wanted | Measured | Met |",
        "|---|---|---|---|",
        *[
            f"| {what} | {wanted} | {measured} | "
            f"{'n/a' if met is None else ('yes' if met else '**no**')} |"
            for what, wanted, measured, met in targets(result)
        ],
        "",
        "CPU seconds by phase and process (share of one core over the phase's wall time):",
        "",
        "| Phase | wall | " + " | ".join(COMPONENTS) + " |",
        "|---|---|" + "---|" * len(COMPONENTS),
        *[
            f"| {phase} | {wall:.0f} s | "
            + " | ".join(_share(cpu.get(c, math.nan), wall) for c in COMPONENTS)
            + " |"
            for phase, wall, cpu in result.cpu_phases
        ],
        "",
        f"Trend over the steady state ({TREND_SECONDS:.0f} s slices):",
        "",
        "| t (s) | evaluations/s | lateness p50 | lateness p99 | loop lag p99 | RSS |",
        "|---|---|---|---|---|---|",
        *[
            f"| {row.at:.0f} | {row.evaluations_per_second:.2f} | {_ms(row.lateness_p50)} "
            f"| {_ms(row.lateness_p99)} | {_ms(row.loop_lag_p99)} | {_mib(row.rss)} |"
            for row in result.trend
        ],
        "",
        "Lateness, duration and loop-lag quantiles come from the deltas of the operator's "
        "histograms over the window, interpolated linearly inside a bucket as PromQL's "
        "histogram_quantile does; scrape quantiles are nearest-rank over the bench's own "
        "full scrapes; API-server writes are status patches (okr_status_writes_total) plus "
        "Events created in the namespace during the window.",
    ]
    lines += [f"\nNote: {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def _per_query(cpu: float, queries: float) -> str:
    return "n/a" if not queries or math.isnan(cpu) else f"{cpu / queries * 1000:.2f} ms"


def _seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(duration[:-1]) * units[duration[-1]]


def operator_description() -> str:
    """Which okr_operator ``okr run`` imports here (PYTHONPATH can point at a patched copy)."""
    where = subprocess.run(
        [sys.executable, "-c", "import okr_operator; print(okr_operator.__file__)"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    return f"`{Path(where).parent}` (repository at {commit or 'unknown commit'})"


def machine_description() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({cpu})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="KeyResults (default 1000)")
    parser.add_argument("--interval", default="1m", help="their spec.interval (default 1m)")
    parser.add_argument(
        "--duration",
        type=float,
        default=180.0,
        help="steady-state seconds after every status is populated (default 180)",
    )
    parser.add_argument("--objectives", type=int, default=None, help="Objectives (default N/50)")
    parser.add_argument(
        "--populate-timeout",
        type=float,
        default=900.0,
        help="give up when statuses are not all populated after this (s)",
    )
    parser.add_argument(
        "--scrape-every", type=float, default=SCRAPE_EVERY,
        help=f"seconds between the bench's full /metrics scrapes (default {SCRAPE_EVERY:g})",
    )  # fmt: skip
    parser.add_argument(
        "--restart-settle", type=float, default=None,
        help="after the restart, watch writes this long once restored (default: one interval "
             "+ 15 s; 0 skips the restart)",
    )  # fmt: skip
    parser.add_argument(
        "--raw-duration", type=float, default=120.0,
        help="seconds of the raw client (default 120; 0 skips it)",
    )  # fmt: skip
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the created objects (for a look; -A operators will see them)",
    )
    args = parser.parse_args(argv)  # fmt: skip
    if args.count < 1 or args.duration < TREND_SECONDS:
        parser.error(f"--count must be >= 1 and --duration >= {TREND_SECONDS:.0f}")
    if args.restart_settle is None:
        args.restart_settle = _seconds(args.interval) + 15.0
    result = run(args)
    text = report(result, machine_description())
    out = testenv_dir() / f"bench-{args.count}.md"
    out.write_text(text)
    print(text)
    print(f"bench: written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
