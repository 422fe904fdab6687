#!/usr/bin/env python3
"""``make demo``: the examples' OKRs, measured live, on the local test bench.

Usage: hack/demo.py [--once] [--timeout SECONDS]

Brings up the bench (idempotent), backfills the demo exporter's history into
Prometheus, starts the exporter and registers it as a scrape target, installs the
CRDs and the examples, runs the operator, waits until every KeyResult and
Objective has a health, then prints ``kubectl get okr -A`` and the alignment
tree. Without ``--once`` it refreshes the tree every 30 s until Ctrl-C, then stops
the operator and the exporter (the bench stays up for exploring). With ``--once``
it tears down everything it started, the bench included, and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_model import EPOCH
from history import END_MARGIN, STEP, write_history
from okr_operator.cli.views import key_of, render_tree

ROOT = Path(__file__).resolve().parent.parent
# The OKRs are the top-level files of examples/, so a plain (non-recursive)
# `kubectl apply -f examples/` applies them; its folders alertmanager/ (an
# Alertmanager config) and argocd/ (Argo CD's kinds) are not for this cluster.
EXPORTER_JOB = "okr-demo-exporter"
# A series every history has; its newest sample tells how far history reaches.
PROBE_SERIES = 'model_refresh_duration_seconds{model="recommendations"}'
REFRESH_SECONDS = 30.0


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and why."""


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"({path} does not exist)"


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


@dataclass
class Started:
    """A process this demo started: stopped by its pid, never by name."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)
        say(f"stopped {self.name} (pid {self.process.pid})")


class Demo:
    def __init__(self, root: Path, timeout: float, out: TextIO) -> None:
        self.root = root
        self.timeout = timeout
        self.out = out
        self.testenv = root / ".testenv"
        self.logs = self.testenv / "logs"
        self.python = str(root / ".venv" / "bin" / "python")
        self.started: list[Started] = []
        self.bench_was_up = False
        self.env: dict[str, str] = {}

    # -- steps

    def bench_up(self) -> None:
        self.bench_was_up = self._bench_answers()
        self._run([self.python, "hack/testenv.py", "up"], "hack/testenv.py up")
        self.env = self._load_env()

    def import_history(self) -> None:
        now = time.time()
        newest = self._newest_sample(now)
        end = math.floor(now - END_MARGIN)
        if newest is None:
            start = EPOCH
        elif end - newest < 2 * STEP:
            say("Prometheus already holds the demo history")
            return
        else:
            start = newest + 60.0  # continue after what an earlier demo left
        demo_dir = self.testenv / "demo"
        demo_dir.mkdir(parents=True, exist_ok=True)
        path = demo_dir / "history.om"
        with path.open("w", encoding="utf-8") as out:
            samples = write_history(out, start, end)
        days = (end - start) / 86400
        say(f"backfilling {samples} samples ({days:.1f} days) into Prometheus")
        self._run(
            [self.python, "hack/testenv.py", "import-history", str(path)],
            "hack/testenv.py import-history",
        )

    def start_exporter(self) -> None:
        port = free_port()
        self._start(
            "demo exporter",
            [self.python, "hack/demo_exporter.py", "--port", str(port)],
            self.logs / "demo-exporter.log",
        )
        targets = self.testenv / "prometheus" / "targets"
        targets.mkdir(parents=True, exist_ok=True)
        target = [{"targets": [f"127.0.0.1:{port}"], "labels": {"job": EXPORTER_JOB}}]
        tmp = targets / "demo.json.tmp"
        tmp.write_text(json.dumps(target, indent=2) + "\n")
        tmp.replace(targets / "demo.json")  # file_sd must never read half a file
        self._wait(
            f"Prometheus to scrape the demo exporter on port {port}",
            lambda: self._query(f'up{{job="{EXPORTER_JOB}",instance="127.0.0.1:{port}"}}') == [1.0],
            self.logs / "demo-exporter.log",
        )

    def apply(self) -> None:
        self._kubectl(["apply", "-f", "crds/"])
        self._kubectl(
            ["wait", "--for=condition=Established", "--timeout=60s", "-f", "crds/"],
        )
        self._kubectl(["apply", "-f", "examples/"])

    def start_operator(self) -> None:
        self._start(
            "operator",
            [
                str(self.root / ".venv" / "bin" / "okr"),
                "run",
                "-A",
                "--prometheus-url",
                self.env["PROMETHEUS_URL"],
                "--metrics-port",
                str(free_port()),
                "--liveness-port",
                str(free_port()),
                "--bind-address",
                "127.0.0.1",
            ],
            self.logs / "operator.log",
        )

    def wait_for_status(self) -> None:
        missing: list[str] = []

        def all_have_health() -> bool:
            objectives, key_results = self._objects()
            missing[:] = [
                f"{obj['kind']} {'/'.join(key_of(obj))}"
                for obj in [*objectives, *key_results]
                if not (obj.get("status") or {}).get("health")
            ]
            return not missing and bool(objectives) and bool(key_results)

        self._wait(
            "every KeyResult and Objective to have status.health",
            all_have_health,
            self.logs / "operator.log",
            detail=lambda: "still without health: " + ", ".join(missing),
        )

    def show(self) -> None:
        table = self._kubectl(["get", "okr", "-A"], capture=True)
        objectives, key_results = self._objects()
        self.out.write("\n" + table + "\n")
        self.out.write(render_tree(objectives, key_results, color=self.out.isatty()))
        self.out.flush()

    def teardown(self, bench: bool) -> None:
        for started in reversed(self.started):
            started.stop()
        self.started.clear()
        (self.testenv / "prometheus" / "targets" / "demo.json").unlink(missing_ok=True)
        if bench:
            if self.bench_was_up:
                say("the bench was up before the demo: leaving it running")
            else:
                self._run([self.python, "hack/testenv.py", "down"], "hack/testenv.py down")

    # -- helpers

    def _run(self, argv: Sequence[str], what: str) -> None:
        say(what)
        result = subprocess.run(argv, cwd=self.root, check=False)
        if result.returncode != 0:
            raise DemoError(f"{what} failed (exit {result.returncode})")

    def _kubectl(self, args: Sequence[str], capture: bool = False) -> str:
        if not capture:
            say("kubectl " + " ".join(args))
        result = subprocess.run(
            ["kubectl", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise DemoError(
                f"kubectl {' '.join(args)} failed (exit {result.returncode}):\n{result.stderr}"
            )
        if not capture and result.stdout:
            print(result.stdout.rstrip(), flush=True)
        return result.stdout

    def _objects(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        text = self._kubectl(
            ["get", "objectives.okr.dev,keyresults.okr.dev", "-A", "-o", "json"], capture=True
        )
        items: list[dict[str, Any]] = json.loads(text).get("items", [])
        return (
            [item for item in items if item.get("kind") == "Objective"],
            [item for item in items if item.get("kind") == "KeyResult"],
        )

    def _start(self, name: str, argv: Sequence[str], log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as handle:
            process = subprocess.Popen(
                argv, cwd=self.root, env=self.env, stdout=handle, stderr=subprocess.STDOUT
            )
        self.started.append(Started(name, process, log))
        say(f"started {name} (pid {process.pid}), log {log.relative_to(self.root)}")

    def _wait(
        self,
        what: str,
        ready: Callable[[], bool],
        log: Path,
        detail: Callable[[], str] | None = None,
    ) -> None:
        say(f"waiting for {what}")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for started in self.started:
                if started.process.poll() is not None:
                    raise DemoError(
                        f"{started.name} exited with {started.process.returncode} while waiting "
                        f"for {what}; last lines of {started.log}:\n{log_tail(started.log)}"
                    )
            with contextlib.suppress(OSError, ValueError, DemoError):
                if ready():
                    return
            time.sleep(1.0)
        extra = f"\n{detail()}" if detail else ""
        raise DemoError(
            f"timed out after {self.timeout:.0f} s waiting for {what}{extra}\n"
            f"last lines of {log}:\n{log_tail(log)}"
        )

    def _bench_answers(self) -> bool:
        env_sh = self.testenv / "env.sh"
        if not env_sh.is_file():
            return False
        url = self._load_env().get("PROMETHEUS_URL", "")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except (OSError, ValueError):
            return False

    def _load_env(self) -> dict[str, str]:
        # env.sh is shell (it extends PATH): let a shell evaluate it.
        result = subprocess.run(
            ["bash", "-c", ". .testenv/env.sh && env -0"],
            cwd=self.root,
            capture_output=True,
            check=True,
        )
        pairs = (entry.split(b"=", 1) for entry in result.stdout.split(b"\0") if b"=" in entry)
        return {key.decode(): value.decode() for key, value in pairs}

    def _query(self, query: str, at: float | None = None) -> list[float]:
        params = {"query": query}
        if at is not None:
            params["time"] = f"{at:.3f}"
        url = f"{self.env['PROMETHEUS_URL']}/api/v1/query?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            body = json.load(response)
        if body.get("status") != "success":
            raise DemoError(f"Prometheus rejected {query!r}: {body.get('error')}")
        return [float(item["value"][1]) for item in body["data"]["result"]]

    def _newest_sample(self, now: float) -> float | None:
        """When the newest sample of the demo series is (to a minute), None if there is none.

        A binary search over lookback windows, because PromQL has no function for
        the time of a series' newest sample over a long range.
        """
        horizon = now - EPOCH + 86400.0
        if not self._query(f"count_over_time({PROBE_SERIES}[{horizon:.0f}s])", at=now):
            return None
        low, high = 0.0, horizon  # a sample is within `high` of now, none within `low`
        while high - low > 60.0:
            middle = (low + high) / 2
            if self._query(f"count_over_time({PROBE_SERIES}[{middle:.0f}s])", at=now):
                high = middle
            else:
                low = middle
        return now - high


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="tear everything down and exit 0")
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds to wait for each step (180)"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    demo = Demo(ROOT, args.timeout, sys.stdout)
    # A SIGTERM (a closed terminal, a CI timeout) cleans up like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    started_at = time.monotonic()
    try:
        demo.bench_up()
        demo.import_history()
        demo.start_exporter()
        demo.apply()
        demo.start_operator()
        demo.wait_for_status()
        say(f"every object has a health after {time.monotonic() - started_at:.0f} s")
        demo.show()
        if args.once:
            demo.teardown(bench=True)
            return 0
        say(f"refreshing every {REFRESH_SECONDS:.0f} s; Ctrl-C to stop")
        while True:
            time.sleep(REFRESH_SECONDS)
            demo.show()
    except KeyboardInterrupt:
        say("interrupted")
        demo.teardown(bench=args.once)
        return 0
    except (DemoError, subprocess.CalledProcessError) as error:
        print(f"demo: {error}", file=sys.stderr)
        demo.teardown(bench=args.once)
        return 1


if __name__ == "__main__":
    sys.exit(main())
