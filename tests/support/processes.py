"""Throwaway server processes for tests: free ports, start, wait ready, stop.

The bench's long-lived processes belong to ``hack/testenv.py``; this module is for
the extra Prometheus or Alertmanager a single test starts with its own data and
stops again (by pid, SIGTERM then SIGKILL, never by name).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
START_ATTEMPTS = 3  # a port picked free can be taken before the server binds it


class ProcessStartError(RuntimeError):
    """A throwaway server did not become ready; the message holds its log's tail."""


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def tools_bin_dir() -> Path:
    """Where ``hack/tools.sh`` builds (same rule as the script)."""
    cache = os.environ.get("OKR_CACHE_DIR")
    if cache:
        return Path(cache) / "bin"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "okr-operator" / "bin"


def tool(name: str) -> str:
    """Absolute path of a bench tool: the pinned builds first, then PATH (Debian's)."""
    built = tools_bin_dir() / name
    if built.exists() and os.access(built, os.X_OK):
        return str(built)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is neither in {tools_bin_dir()} nor on PATH")
    return found


def log_tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def http_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL we built
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class RunningProcess:
    """A started server; ``stop()`` (or leaving a ``with`` block) ends it."""

    name: str
    url: str
    port: int
    pid: int
    workdir: Path
    log_path: Path
    _popen: subprocess.Popen[bytes] = field(repr=False)

    def alive(self) -> bool:
        return self._popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; idempotent."""
        if self._popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._popen.send_signal(signal.SIGTERM)
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait(5)

    def log(self) -> str:
        return log_tail(self.log_path, lines=10_000)

    def __enter__(self) -> RunningProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_http_server(
    name: str,
    argv_for_port: Callable[[int], list[str]],
    workdir: Path,
    *,
    ready_path: str,
    timeout: float = 60.0,
) -> RunningProcess:
    """Start ``argv_for_port(port)`` on a free port and wait for ``GET ready_path`` = 200.

    Retries on a new port if the first one was taken meanwhile; any other early
    exit or a timeout raises ``ProcessStartError`` with the tail of its log.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    for _attempt in range(START_ATTEMPTS):
        port = free_port()
        argv = argv_for_port(port)
        with log_path.open("wb") as out:
            popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=workdir
            )
        url = f"http://{LOOPBACK}:{port}"
        running = RunningProcess(name, url, port, popen.pid, workdir, log_path, popen)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and running.alive():
            if http_ready(url + ready_path):
                return running
            time.sleep(0.1)
        if not running.alive() and "address already in use" in log_tail(log_path):
            continue
        what = "exited" if not running.alive() else f"was not ready within {timeout:.0f} s"
        running.stop()
        raise ProcessStartError(f"{name} on port {port} {what}:\n{log_tail(log_path)}")
    raise ProcessStartError(f"{name}: every port tried was taken ({START_ATTEMPTS} attempts)")
