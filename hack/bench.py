#!/usr/bin/env python3
"""``make bench``: N KeyResults on the test bench, and what the operator costs.

Usage: hack/bench.py --count N [--interval 1m] [--duration 180] [--objectives K]
                     [--populate-timeout 900] [--keep]

What it does, in order:

1. starts a throwaway Prometheus holding two hours of deterministic history for
   20 gauges and 20 counters (backfilled with promtool) that it keeps scraping
   live from a tiny exporter in this process, so ``[5m]`` windows stay full;
2. creates a fresh namespace ``bench-<random>`` and starts ``okr run`` on it (as
   the bench admin), with ``--status-interval 5m``;
3. creates K Objectives (one company objective, the rest aligned to it; period
   45 days either side of now) and N KeyResults (``spec.interval`` 1m, queries
   spread over the series: mostly ``avg_over_time(...[5m])``) with the
   kubernetes client from 8 threads, and reports the creation rate;
4. measures the time from the first create to every object having a
   ``status.health`` (polling a list every 2 s, so +-2 s);
5. then, for ``--duration`` seconds of steady state, the evaluation lateness
   (p50/p99 from the deltas of the ``okr_evaluation_lateness_seconds``
   histogram, interpolated inside a bucket exactly as PromQL's
   ``histogram_quantile`` does), evaluations per second, API-server writes per
   second (status patches from ``okr_status_writes_total`` plus Events created
   in the namespace, counted via the API), and Prometheus queries per second;
6. and over the whole run the operator's RSS (``VmHWM`` and ``VmRSS`` of
   /proc/<pid>/status) and CPU seconds (utime+stime of /proc/<pid>/stat).

It stops what it started (operator, Prometheus, exporter) by pid, deletes the
Objectives and KeyResults it created (unless ``--keep``), so that operators
other people start with ``-A`` later are not loaded with them, and leaves the
namespace (the bench runs no namespace controller). The Markdown table it
prints is also written to ``.testenv/bench-<N>.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
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
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubernetes import client, config  # noqa: E402 - after the sys.path line above
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
POLL_SECONDS = 2.0
TREND_SECONDS = 30.0  # one row of the trend table per this many seconds of steady state
SEED = 20261001
PERIOD_HALF = timedelta(days=45)
LATENESS = "okr_evaluation_lateness_seconds"
DURATION = "okr_evaluation_duration_seconds"


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


def other_operators(own_pid: int, namespace: str) -> list[str]:
    """Other ``okr run`` processes on this machine that watch ``namespace`` (read-only).

    The bench is shared: another operator started with ``-A`` (or a
    ``--namespace`` glob matching ours) evaluates our objects too, posts its own
    Events on them and loads the same API server and cores.
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
            if ours and watches(words, namespace):
                found.append(f"pid {entry.name}: {' '.join(w for w in words if w)[:200]}")
    return found


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


def http_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return str(response.read().decode())


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
    operator: str = ""
    create_seconds: float = math.nan
    populate_seconds: float = math.nan
    populate_after_last_create: float = math.nan
    steady_seconds: float = math.nan
    lateness_p50: float = math.nan
    lateness_p99: float = math.nan
    lateness_max_bucket: str = ""
    duration_p50: float = math.nan
    duration_p99: float = math.nan
    evaluations: Mapping[str, float] = field(default_factory=dict)
    status_writes: Mapping[str, float] = field(default_factory=dict)
    events: Mapping[str, int] = field(default_factory=dict)
    prometheus_queries: float = math.nan
    prometheus_cpu: float = math.nan
    rss_peak: int = 0
    rss_end: int = 0
    cpu_total: float = math.nan
    cpu_populate: float = math.nan
    cpu_steady: float = math.nan
    wall_total: float = math.nan
    trend: list[TrendRow] = field(default_factory=list)
    health: Mapping[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TrendRow:
    """One slice of the steady state: does lateness or memory grow?"""

    at: float  # seconds since the window started
    evaluations_per_second: float
    lateness_p50: float
    lateness_p99: float
    rss: int


@dataclass(frozen=True)
class Window:
    """The steady-state window: wall clock (for Events) and the operator's scrapes."""

    wall_start: float
    wall_end: float
    scrapes: Sequence[Scrape]
    prometheus_first: Scrape
    prometheus_last: Scrape
    prometheus_cpu: float  # its CPU seconds during the window


def wait_populated(
    custom: client.CustomObjectsApi, ns: str, want: Mapping[str, int], timeout: float,
    operator: RunningOperator,
) -> float:  # fmt: skip
    """Poll until every object has a status.health; returns that monotonic time."""
    deadline = time.monotonic() + timeout
    missing: dict[str, int] = dict(want)
    while time.monotonic() < deadline:
        if operator.process.poll() is not None:
            raise BenchError(f"okr run exited with {operator.process.returncode}:\n"
                             f"{operator.log_tail()}")  # fmt: skip
        for plural, total in want.items():
            items = list_objects(custom, ns, plural)
            missing[plural] = total - sum(1 for i in items if (i.get("status") or {}).get("health"))
        if not any(missing.values()):
            return time.monotonic()
        time.sleep(POLL_SECONDS)
    raise BenchError(f"not every status was populated within {timeout:.0f}s; missing {missing}\n"
                     f"{operator.log_tail()}")  # fmt: skip


def steady_window(operator: RunningOperator, prometheus: RunningProcess, duration: float) -> Window:
    """Scrape the operator at the start, every TREND_SECONDS, and at the end."""
    prometheus_first = Scrape.parse(http_text(f"{prometheus.url}/metrics"), time.monotonic())
    prometheus_cpu = read_proc(prometheus.pid)[0]
    scrapes = [Scrape.parse(operator.metrics(), time.monotonic())]
    wall_start = time.time()
    end = scrapes[0].at + duration
    while (now := time.monotonic()) < end - 0.5:
        time.sleep(min(TREND_SECONDS - (now - scrapes[0].at) % TREND_SECONDS, end - now))
        scrapes.append(Scrape.parse(operator.metrics(), time.monotonic()))
        if operator.process.poll() is not None:
            raise BenchError(f"okr run exited during the steady state:\n{operator.log_tail()}")
    wall_end = time.time()
    prometheus_cpu = read_proc(prometheus.pid)[0] - prometheus_cpu
    prometheus_last = Scrape.parse(http_text(f"{prometheus.url}/metrics"), time.monotonic())
    return Window(wall_start, wall_end, scrapes, prometheus_first, prometheus_last, prometheus_cpu)


def summarise(result: Result, window: Window, sampler: ProcSampler) -> None:
    """Fill the steady-state figures of ``result`` from the window's scrapes."""
    first, last = window.scrapes[0], window.scrapes[-1]
    result.steady_seconds = last.at - first.at
    lateness = bucket_delta(last, first, LATENESS)
    result.lateness_p50 = histogram_quantile(0.5, lateness)
    result.lateness_p99 = histogram_quantile(0.99, lateness)
    result.lateness_max_bucket = highest_bucket(lateness)
    finite = sorted(le for le, _count in lateness if not math.isinf(le))
    if finite and result.lateness_p50 <= finite[0]:
        result.notes.append(
            f"lateness p50 lies in the histogram's first bucket (0, {finite[0]:g} s]: the "
            "figure is a linear interpolation inside it, so read it as 'under "
            f"{finite[0] * 1000:g} ms'; finer low buckets would resolve it"
        )
    took = bucket_delta(last, first, DURATION)
    result.duration_p50 = histogram_quantile(0.5, took)
    result.duration_p99 = histogram_quantile(0.99, took)
    result.evaluations = delta_by(last, first, "okr_evaluations_total", "result")
    result.status_writes = delta_by(last, first, "okr_status_writes_total", "kind")
    result.prometheus_queries = window.prometheus_last.total(
        "prometheus_http_requests_total", handler="/api/v1/query"
    ) - window.prometheus_first.total("prometheus_http_requests_total", handler="/api/v1/query")
    result.prometheus_cpu = window.prometheus_cpu
    steady = [p for p in sampler.points if first.at <= p[0] <= last.at]
    if len(steady) >= 2:
        result.cpu_steady = steady[-1][1] - steady[0][1]
    for earlier, later in itertools.pairwise(window.scrapes):
        slice_ = bucket_delta(later, earlier, LATENESS)
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
                rss=near[2] if near else 0,
            )
        )


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


def health_now(custom: client.CustomObjectsApi, ns: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for plural in ("keyresults", "objectives"):
        for item in list_objects(custom, ns, plural):
            key = f"{plural}/{(item.get('status') or {}).get('health', 'none')}"
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


def run(args: argparse.Namespace) -> Result:
    bench = Bench.load()
    problems = bench.health_problems()
    if problems:
        raise BenchError("the test bench is not healthy: " + "; ".join(problems))
    objectives = args.objectives or max(1, round(args.count / 50))
    ns = f"bench-{secrets.token_hex(3)}"
    result = Result(args.count, objectives, args.interval, ns, operator_description())
    workdir = testenv_dir() / "bench" / ns
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"bench: {args.count} KeyResults, {objectives} Objectives in namespace {ns}; "
          f"files in {workdir}", flush=True)  # fmt: skip

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

    # Stopped in reverse order: sampler, (delete objects,) operator, Prometheus, exporter.
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
        operator = start_operator(
            kubeconfig=bench.kubeconfig,
            prometheus_url=prometheus.url,
            workdir=workdir,
            namespaces=[ns],
            status_interval="5m",
        )
        stack.callback(operator.stop)
        pid = operator.process.pid
        sampler = ProcSampler(pid)
        sampler.start()
        stack.callback(sampler.stop)
        cpu_at_start = read_proc(pid)[0]
        started = time.monotonic()

        result.create_seconds = create_all(custom, bodies)
        created = time.monotonic()
        print(f"bench: created {len(bodies)} objects in {result.create_seconds:.1f}s",
              flush=True)  # fmt: skip
        want = {"keyresults": args.count, "objectives": objectives}
        populated = wait_populated(custom, ns, want, args.populate_timeout, operator)
        result.populate_seconds = populated - (created - result.create_seconds)
        result.populate_after_last_create = populated - created
        result.cpu_populate = read_proc(pid)[0] - cpu_at_start
        print(f"bench: every status populated {result.populate_seconds:.1f}s after the first "
              f"create; steady state for {args.duration:.0f}s", flush=True)  # fmt: skip

        window = steady_window(operator, prometheus, args.duration)
        cpu_end, result.rss_end, result.rss_peak = read_proc(pid)
        result.cpu_total = cpu_end - cpu_at_start
        result.wall_total = time.monotonic() - started
        sampler.stop()
        summarise(result, window, sampler)
        result.events = events_between(core, ns, window.wall_start, window.wall_end)
        result.health = health_now(custom, ns)
        others = other_operators(pid, ns)
        if others:
            result.notes.append(
                "other okr operators whose arguments match this namespace ran at the end of "
                "the run; if they use this bench's API server (a clone's own bench does not), "
                "they also evaluated these objects and posted Events here (Events beyond the "
                "status patches would show it): " + "; ".join(others)
            )
        errors = error_lines(operator.log_path)
        if errors:
            result.notes.append(
                f"the operator logged {len(errors)} error lines; first: {errors[0][:300]}"
            )
    return result


def _remove_data(prometheus: RunningProcess) -> None:
    # Its TSDB is a throwaway; the log next to it stays for a look afterwards.
    shutil.rmtree(prometheus.workdir / "data", ignore_errors=True)


# --------------------------------------------------------------------------- the report


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def _mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


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
    rows = [
        ("Key results / objectives", f"{result.count} / {result.objectives} "
                                     f"(interval {result.interval}, status-interval 5m)"),
        ("Create rate (8 client threads)",
         f"{result.count + result.objectives} objects in {result.create_seconds:.1f} s "
         f"({(result.count + result.objectives) / result.create_seconds:.0f}/s)"),
        ("First create to every status.health",
         f"{result.populate_seconds:.1f} s (+-{POLL_SECONDS:.0f} s polling; "
         f"{result.populate_after_last_create:.1f} s after the last create)"),
        ("Steady-state window", f"{window:.0f} s"),
        ("Evaluation lateness p50 / p99", f"{_ms(result.lateness_p50)} / "
                                          f"{_ms(result.lateness_p99)} "
                                          f"(max {result.lateness_max_bucket})"),
        ("Evaluation duration p50 / p99", f"{_ms(result.duration_p50)} / "
                                          f"{_ms(result.duration_p99)}"),
        ("Evaluations", f"{per_s(evals)} ({results}); at the nominal interval "
                        f"{result.count / _seconds(result.interval):.2f}/s"),
        ("API-server writes", f"{per_s(writes + events)} (status patches {kinds}; "
                              f"Events {events}: {reasons})"),
        ("Prometheus queries", f"{per_s(result.prometheus_queries)} "
                               f"({result.prometheus_queries:.0f} /api/v1/query; Prometheus "
                               f"used {result.prometheus_cpu:.1f} CPU s in the window)"),
        ("Operator RSS peak / end", f"{_mib(result.rss_peak)} / {_mib(result.rss_end)}"),
        ("Operator CPU", f"{result.cpu_total:.1f} s over {result.wall_total:.0f} s "
                         f"(populate {result.cpu_populate:.1f} s; steady "
                         f"{result.cpu_steady:.1f} s = "
                         f"{result.cpu_steady / window * 100 if window else math.nan:.1f}% "
                         f"of a core)"),
        ("Health at the end", ", ".join(f"{k} {v}" for k, v in result.health.items())),
    ]  # fmt: skip
    lines = [
        f"## okr-operator bench, N={result.count} ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Machine: {machine}. Operator: {result.operator}. Namespace `{result.namespace}`.",
        "",
        "| Measure | Value |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in rows],
        "",
        f"Trend over the steady state ({TREND_SECONDS:.0f} s slices):",
        "",
        "| t (s) | evaluations/s | lateness p50 | lateness p99 | RSS |",
        "|---|---|---|---|---|",
        *[
            f"| {row.at:.0f} | {row.evaluations_per_second:.2f} | {_ms(row.lateness_p50)} "
            f"| {_ms(row.lateness_p99)} | {_mib(row.rss)} |"
            for row in result.trend
        ],
        "",
        "Lateness and duration quantiles come from the deltas of the operator's histograms "
        "over the window, interpolated linearly inside a bucket as PromQL's "
        "histogram_quantile does; API-server writes are status patches "
        "(okr_status_writes_total) plus Events created in the namespace during the window.",
    ]
    lines += [f"\nNote: {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


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
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"{os.cpu_count()} cores ({cpu}), load average at the end {load}"


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
        "--keep",
        action="store_true",
        help="leave the created objects (for a look; -A operators will see them)",
    )
    args = parser.parse_args(argv)  # fmt: skip
    if args.count < 1 or args.duration < TREND_SECONDS:
        parser.error(f"--count must be >= 1 and --duration >= {TREND_SECONDS:.0f}")
    result = run(args)
    text = report(result, machine_description())
    out = testenv_dir() / f"bench-{args.count}.md"
    out.write_text(text)
    print(text)
    print(f"bench: written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
