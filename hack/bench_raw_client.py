#!/usr/bin/env python3
"""The raw ceiling for ``make bench``: the operator's queries with nothing else around them.

Usage: hack/bench_raw_client.py URL QUERIES.json --interval S --duration S [--concurrency C]

Each query of QUERIES.json (a JSON list of PromQL strings) is sent once per
``--interval``, at an even offset inside it (query i at i * interval / n), as
an instant query at the current time, through one aiohttp session with at
most ``--concurrency`` requests in flight (the operator's ``--concurrency``).
It parses each JSON answer and does nothing else: no status, no Events, no
metrics. It prints one JSON object: queries sent and answered, errors, the
achieved rate, latency and send-lateness quantiles, and its own CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp


def quantile(values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def drive(
    url: str, queries: Sequence[str], interval: float, duration: float, concurrency: int
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    spacing = interval / len(queries)
    latencies: list[float] = []
    lateness: list[float] = []
    errors: dict[str, int] = {}
    slots = asyncio.Semaphore(concurrency)
    pending: set[asyncio.Task[None]] = set()
    timeout = aiohttp.ClientTimeout(total=30)

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout
    ) as session:

        async def one(promql: str) -> None:
            async with slots:
                started = loop.time()
                try:
                    params = {"query": promql, "time": f"{time.time():.3f}"}
                    async with session.get(f"{url}/api/v1/query", params=params) as response:
                        body = await response.json()
                    if body.get("status") != "success":
                        errors[body.get("errorType", "error")] = (
                            errors.get(body.get("errorType", "error"), 0) + 1
                        )
                except (aiohttp.ClientError, TimeoutError) as err:
                    errors[type(err).__name__] = errors.get(type(err).__name__, 0) + 1
                latencies.append(loop.time() - started)

        cpu_start, start = time.process_time(), loop.time()
        index = 0
        while (due := start + index * spacing) < start + duration:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lateness.append(max(0.0, loop.time() - due))
            task = asyncio.create_task(one(queries[index % len(queries)]))
            pending.add(task)
            task.add_done_callback(pending.discard)
            index += 1
        sent_for = loop.time() - start
        await asyncio.gather(*pending)
        elapsed = loop.time() - start
    return {
        "sent": index,
        "answered": len(latencies),
        "errors": errors,
        "seconds_sending": sent_for,
        "seconds_total": elapsed,
        "queries_per_second": len(latencies) / duration,
        "nominal_per_second": len(queries) / interval,
        "latency_p50": quantile(latencies, 0.5),
        "latency_p99": quantile(latencies, 0.99),
        "lateness_p99": quantile(lateness, 0.99),
        "cpu_seconds": time.process_time() - cpu_start,
        "pid": os.getpid(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="Prometheus base URL (loopback)")
    parser.add_argument("queries", type=Path, help="JSON list of PromQL strings")
    parser.add_argument("--interval", type=float, required=True, help="seconds between rounds")
    parser.add_argument("--duration", type=float, required=True, help="seconds of sending")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    args = parser.parse_args(argv)
    queries = json.loads(args.queries.read_text())
    if not queries:
        parser.error("no queries")
    result = asyncio.run(drive(args.url, queries, args.interval, args.duration, args.concurrency))
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
