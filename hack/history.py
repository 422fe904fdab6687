#!/usr/bin/env python3
"""Write the demo model's history as OpenMetrics text for promtool backfilling.

Usage: hack/history.py [--start UNIX] [--end UNIX] [--step SECONDS] OUTPUT

Defaults: from the model's epoch (a week before 2026-Q4 starts) to two minutes
ago, every 15 minutes, plus one last sample exactly at the end so the series are
fresh when Prometheus restarts. The output is what ``promtool tsdb
create-blocks-from openmetrics`` wants: every sample timestamped, the samples of
one series contiguous and in time order, ``# EOF`` at the end. Import it with
``hack/testenv.py import-history OUTPUT``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_model import EPOCH, DemoModel, Family

STEP = 900.0
END_MARGIN = 120.0


def steps(start: float, end: float, step: float = STEP) -> list[float]:
    """Timestamps from ``start`` (inclusive) every ``step``, plus ``end`` itself."""
    if end < start:
        raise ValueError(f"history: end {end} is before start {start}")
    count = math.floor((end - start) / step)
    times = [start + i * step for i in range(count + 1)]
    if times[-1] < end:
        times.append(end)
    return times


def _labels(labels: Sequence[tuple[str, str]]) -> str:
    if not labels:
        return ""
    escaped = (
        f'{name}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for name, value in labels
    )
    return "{" + ",".join(escaped) + "}"


def _number(value: float) -> str:
    value = float(value)
    return repr(int(value)) if value.is_integer() else repr(value)


def render(model: DemoModel, times: Sequence[float]) -> Iterator[str]:
    """Yield the OpenMetrics text in lines (each ending with a newline).

    Evaluates the model once per timestamp (not once per series and timestamp),
    then regroups by series, which is the order OpenMetrics requires.
    """
    snapshots = [model.families_at(t) for t in times]
    for index, family in enumerate(snapshots[0]):
        yield from _family(family, [snapshot[index] for snapshot in snapshots], times)
    yield "# EOF\n"


def _family(first: Family, per_time: Sequence[Family], times: Sequence[float]) -> Iterator[str]:
    yield f"# HELP {first.name} {first.help}\n"
    yield f"# TYPE {first.name} {first.type}\n"
    for position, sample in enumerate(first.samples):
        series = f"{sample.name}{_labels(sample.labels)}"
        for t, family in zip(times, per_time, strict=True):
            yield f"{series} {_number(family.samples[position].value)} {_number(t)}\n"


def write_history(out: TextIO, start: float, end: float, step: float = STEP) -> int:
    """Write the history to ``out``; returns the number of samples written."""
    lines = 0
    for line in render(DemoModel(), steps(start, end, step)):
        out.write(line)
        lines += not line.startswith("#")
    return lines


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="OpenMetrics file to write")
    parser.add_argument("--start", type=float, default=EPOCH, help="Unix seconds (model epoch)")
    parser.add_argument(
        "--end", type=float, default=None, help="Unix seconds (default: two minutes ago)"
    )
    parser.add_argument("--step", type=float, default=STEP, help="seconds between samples")
    args = parser.parse_args(list(argv) if argv is not None else None)
    end = args.end if args.end is not None else math.floor(time.time() - END_MARGIN)
    started = time.monotonic()
    with args.output.open("w", encoding="utf-8") as out:
        samples = write_history(out, args.start, end, args.step)
    print(
        f"history: {samples} samples from {args.start:.0f} to {end:.0f} "
        f"every {args.step:.0f}s in {time.monotonic() - started:.1f}s -> {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
