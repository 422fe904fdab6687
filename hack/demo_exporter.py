#!/usr/bin/env python3
"""Serve the demo organisation's metrics (hack/demo_model.py) for Prometheus.

Usage: hack/demo_exporter.py --port PORT [--address 127.0.0.1]

Every scrape evaluates the model at the current time, so what Prometheus
scrapes continues exactly what ``hack/history.py`` backfilled.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import FrameType

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_model import DemoModel


class DemoCollector(Collector):
    """A prometheus_client collector over the demo model; ``clock`` is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._model = DemoModel()
        self._clock = clock
        # The model memoises prefix sums; scrapes may come on several threads.
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            families = self._model.families_at(self._clock())
        for family in families:
            metric = Metric(family.name, family.help, family.type)
            for sample in family.samples:
                metric.add_sample(sample.name, dict(sample.labels), sample.value)
            yield metric


def registry(clock: Callable[[], float] = time.time) -> CollectorRegistry:
    """A registry holding only the demo metrics (no process or platform collectors)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(DemoCollector(clock))
    return reg


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--address", default="127.0.0.1")
    args = parser.parse_args(list(argv) if argv is not None else None)
    server, thread = start_http_server(args.port, addr=args.address, registry=registry())
    print(f"demo exporter: http://{args.address}:{args.port}/metrics", flush=True)

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    server.shutdown()
    thread.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
