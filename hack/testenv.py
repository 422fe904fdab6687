#!/usr/bin/env python3
"""The test bench on 127.0.0.1: etcd, kube-apiserver, Prometheus, Alertmanager, VictoriaMetrics.

    hack/testenv.py up [--owned-by-make-test] [--fresh]
    hack/testenv.py down [--if-owned-by-make-test]
    hack/testenv.py status
    hack/testenv.py import-history FILE.om

Everything lives in ``.testenv/`` of this clone: recorded ports and pids
(``state.json``), certificates, data, logs, the admin kubeconfig and ``env.sh``.
Ports are picked free at the first start and kept, so two clones of the
repository run two benches side by side. The tools come from ``hack/tools.sh``
(its bin directory) and from Debian (prometheus, promtool, alertmanager,
victoria-metrics).

Only the standard library and ``cryptography`` are used, so this runs before the
project itself is importable.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# A sibling module: running hack/testenv.py puts hack/ first on sys.path.
from testenv_pki import ensure_pki

REPO = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"  # a flag value only: nothing routes there
# Generous because the machines are 2 shared cores; a healthy cold start takes seconds.
READY_TIMEOUT_S = {
    "etcd": 60.0,
    "alertmanager": 60.0,
    "victoriametrics": 60.0,
    "prometheus": 90.0,
    "kube-apiserver": 180.0,
}
STOP_TIMEOUT_S = 15.0
START_ATTEMPTS = 3  # a port picked free can be taken by someone else before we bind it
LOG_TAIL_LINES = 25

DEFAULT_ALERTMANAGER_CONFIG = """\
# The bench's default: every alert is accepted and dropped by a receiver with
# no integrations. Tests replace this file and POST $ALERTMANAGER_URL/-/reload.
route:
  receiver: discard
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: discard
"""


class BenchError(Exception):
    """A failure the user can act on; printed without a traceback."""


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    """Where the bench keeps everything; one per clone."""

    root: Path

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def lock(self) -> Path:
        return self.root / "lock"

    @property
    def env_sh(self) -> Path:
        return self.root / "env.sh"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def kubecache(self) -> Path:
        return self.root / "kubecache"

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def prometheus(self) -> Path:
        return self.root / "prometheus"

    @property
    def prometheus_data(self) -> Path:
        return self.prometheus / "data"

    @property
    def alertmanager(self) -> Path:
        return self.root / "alertmanager"

    @property
    def victoriametrics_data(self) -> Path:
        return self.root / "victoriametrics"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"


def bin_dir() -> Path:
    """The directory hack/tools.sh builds into (same rule as the script)."""
    cache = os.environ.get("OKR_CACHE_DIR")
    if cache:
        return Path(cache) / "bin"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "okr-operator" / "bin"


def tool(name: str) -> str:
    """Absolute path of a tool: the built ones first, then PATH (Debian's)."""
    built = bin_dir() / name
    if built.exists() and os.access(built, os.X_OK):
        return str(built)
    found = shutil.which(name)
    if found is None:
        raise BenchError(f"{name} not found in {bin_dir()} nor on PATH; run hack/tools.sh all")
    return found


# --------------------------------------------------------------------------- state


@dataclass
class State:
    """What ``state.json`` records between invocations."""

    ports: dict[str, int]
    pids: dict[str, int]
    start_ticks: dict[str, int]
    owned_by_make_test: bool = False

    @classmethod
    def load(cls, layout: Layout) -> State:
        if not layout.state.exists():
            return cls(ports={}, pids={}, start_ticks={})
        raw = json.loads(layout.state.read_text())
        return cls(
            ports={k: int(v) for k, v in raw.get("ports", {}).items()},
            pids={k: int(v) for k, v in raw.get("pids", {}).items()},
            start_ticks={k: int(v) for k, v in raw.get("start_ticks", {}).items()},
            owned_by_make_test=bool(raw.get("owned_by_make_test", False)),
        )

    def save(self, layout: Layout) -> None:
        # Fields beyond the recorded ones are for tests/support/bench.py, which
        # reads this file instead of parsing env.sh.
        urls = {
            "apiserver_url": f"https://{LOOPBACK}:{self.ports.get('kube-apiserver', 0)}",
            "prometheus_url": f"http://{LOOPBACK}:{self.ports.get('prometheus', 0)}",
            "alertmanager_url": f"http://{LOOPBACK}:{self.ports.get('alertmanager', 0)}",
            "victoriametrics_url": f"http://{LOOPBACK}:{self.ports.get('victoriametrics', 0)}",
        }
        doc = {
            "ports": self.ports,
            "pids": self.pids,
            "start_ticks": self.start_ticks,
            "owned_by_make_test": self.owned_by_make_test,
            **urls,
            "kubeconfig": str(layout.kubeconfig),
            "bin_dir": str(bin_dir()),
        }
        tmp = layout.state.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        tmp.replace(layout.state)


@contextlib.contextmanager
def locked(layout: Layout) -> Iterator[None]:
    """Serialises up/down/import-history of one clone (two terminals, make and a dev)."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with layout.lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- processes


def start_ticks_of(pid: int) -> int | None:
    """The process start time in clock ticks, None if no such live process.

    Recorded with the pid so that a pid reused by an unrelated process is never
    mistaken for ours (and never signalled).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold spaces; fields after it are plain.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in {"Z", "X"}:
        return None
    return int(fields[19])


def is_ours_and_alive(state: State, name: str) -> bool:
    pid = state.pids.get(name)
    if pid is None:
        return False
    ticks = start_ticks_of(pid)
    return ticks is not None and ticks == state.start_ticks.get(name)


def listening_ports() -> set[int]:
    """Local TCP ports in LISTEN state, from /proc (no ss/netstat needed)."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A":  # TCP_LISTEN
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def free_port(taken: set[int]) -> int:
    """A port the kernel reports free on loopback, not in ``taken``."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            return port
    raise BenchError("no free port found on 127.0.0.1 after 50 tries")


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in text)


def launch(argv: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        out.write(f"# {time.strftime('%Y-%m-%dT%H:%M:%S')} {shlex.join(argv)}\n".encode())
        out.flush()
        # A session of its own: Ctrl-C in the terminal that ran `make` must not
        # take the bench down, and the bench outlives this script.
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
        )


def terminate(pid: int, ticks: int, name: str, timeout: float = STOP_TIMEOUT_S) -> str:
    """SIGTERM, then SIGKILL after ``timeout``; returns how it ended."""

    def alive() -> bool:
        return start_ticks_of(pid) == ticks

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_until(lambda: not alive(), timeout):
        return "SIGTERM"
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if wait_until(lambda: not alive(), 5.0):
        return "SIGKILL"
    raise BenchError(f"{name} (pid {pid}) survived SIGKILL for 5 s")


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def write_kubeconfig(layout: Layout, apiserver_port: int) -> None:
    """Admin kubeconfig with the certificates embedded, so it works from any cwd."""

    def b64(name: str) -> str:
        return base64.b64encode((layout.pki / name).read_bytes()).decode()

    layout.kubeconfig.write_text(
        f"""\
apiVersion: v1
kind: Config
clusters:
  - name: okr-testenv
    cluster:
      server: https://{LOOPBACK}:{apiserver_port}
      certificate-authority-data: {b64("ca.crt")}
users:
  - name: okr-testenv-admin
    user:
      client-certificate-data: {b64("admin.crt")}
      client-key-data: {b64("admin.key")}
contexts:
  - name: okr-testenv
    context:
      cluster: okr-testenv
      user: okr-testenv-admin
current-context: okr-testenv
"""
    )
    layout.kubeconfig.chmod(0o600)


# --------------------------------------------------------------------------- components


@dataclass(frozen=True)
class Component:
    """One process of the bench: how to start it and how to tell it is ready."""

    name: str
    ports: tuple[str, ...]  # keys in State.ports; the first is the one users talk to
    argv: Callable[[Layout, dict[str, int]], list[str]]
    ready: Callable[[Layout, dict[str, int]], bool]
    prepare: Callable[[Layout, dict[str, int]], None] = lambda _layout, _ports: None


def http_ok(url: str, context: ssl.SSLContext | None = None, expect: bytes | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310
            body: bytes = response.read()
            return response.status == 200 and (expect is None or body.strip() == expect)
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False


def admin_ssl_context(layout: Layout) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(layout.pki / "ca.crt"))
    context.load_cert_chain(str(layout.pki / "admin.crt"), str(layout.pki / "admin.key"))
    return context


def etcd_argv(layout: Layout, ports: dict[str, int]) -> list[str]:
    client = f"http://{LOOPBACK}:{ports['etcd']}"
    peer = f"http://{LOOPBACK}:{ports['etcd-peer']}"
    return [
        tool("etcd"),
        "--name=okr-testenv",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=okr-testenv={peer}",
        # A test bench: losing the last writes on a power cut is fine, fsync
        # latency on a shared disk is not.
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def apiserver_argv(layout: Layout, ports: dict[str, int]) -> list[str]:
    pki = layout.pki
    port = ports["kube-apiserver"]
    return [
        tool("kube-apiserver"),
        f"--etcd-servers=http://{LOOPBACK}:{ports['etcd']}",
        f"--secure-port={port}",
        f"--bind-address={LOOPBACK}",
        f"--advertise-address={LOOPBACK}",
        f"--cert-dir={pki}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        "--authorization-mode=RBAC",
        f"--service-account-issuer=https://{LOOPBACK}:{port}",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        # No controller-manager runs, so nothing would create the token
        # secrets the ServiceAccount admission plugin waits for.
        "--disable-admission-plugins=ServiceAccount",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        "--allow-privileged=true",
        "--profiling=false",
    ]


def apiserver_ready(layout: Layout, ports: dict[str, int]) -> bool:
    url = f"https://{LOOPBACK}:{ports['kube-apiserver']}/readyz"
    return http_ok(url, admin_ssl_context(layout), expect=b"ok")


def prometheus_config(layout: Layout, ports: dict[str, int]) -> str:
    prom = layout.prometheus
    return f"""\
# Written by hack/testenv.py at every start of the bench's Prometheus.
global:
  scrape_interval: 5s
  evaluation_interval: 5s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["{LOOPBACK}:{ports["alertmanager"]}"]
rule_files:
  - {prom / "rules"}/*.yml
scrape_configs:
  # Tests, the demo and tools add exporters by dropping file_sd JSON here.
  - job_name: testenv
    file_sd_configs:
      - files: ["{prom / "targets"}/*.json"]
        refresh_interval: 5s
"""


def prometheus_prepare(layout: Layout, ports: dict[str, int]) -> None:
    for sub in ("targets", "rules", "data"):
        (layout.prometheus / sub).mkdir(parents=True, exist_ok=True)
    (layout.prometheus / "prometheus.yml").write_text(prometheus_config(layout, ports))


def prometheus_argv(layout: Layout, ports: dict[str, int]) -> list[str]:
    return [
        tool("prometheus"),
        f"--config.file={layout.prometheus / 'prometheus.yml'}",
        f"--storage.tsdb.path={layout.prometheus_data}",
        f"--web.listen-address={LOOPBACK}:{ports['prometheus']}",
        "--web.enable-lifecycle",
        "--web.enable-admin-api",
        # Backfilled history is subject to retention: weeks of demo data must stay.
        "--storage.tsdb.retention.time=3650d",
    ]


def alertmanager_prepare(layout: Layout, _ports: dict[str, int]) -> None:
    (layout.alertmanager / "data").mkdir(parents=True, exist_ok=True)
    # A cold start always begins from the default; tests that replaced it
    # must not leak their receivers into the next bench.
    (layout.alertmanager / "alertmanager.yml").write_text(DEFAULT_ALERTMANAGER_CONFIG)


def alertmanager_argv(layout: Layout, ports: dict[str, int]) -> list[str]:
    return [
        tool("prometheus-alertmanager"),
        f"--config.file={layout.alertmanager / 'alertmanager.yml'}",
        f"--storage.path={layout.alertmanager / 'data'}",
        f"--web.listen-address={LOOPBACK}:{ports['alertmanager']}",
        # Empty disables the gossip listener, which would bind 0.0.0.0:9094.
        "--cluster.listen-address=",
    ]


def victoriametrics_argv(layout: Layout, ports: dict[str, int]) -> list[str]:
    return [
        tool("victoria-metrics"),
        f"-httpListenAddr={LOOPBACK}:{ports['victoriametrics']}",
        f"-storageDataPath={layout.victoriametrics_data}",
        # Tests backfill weeks of history through the import API: the default
        # retention (one month) would drop it.
        "-retentionPeriod=100y",
        # Like the e2e Prometheus's --query.lookback-delta=3h: backfilled hourly
        # samples end up to 90 minutes before "now", beyond the default lookback.
        "-search.maxStalenessInterval=3h",
        "-loggerLevel=WARN",
    ]


COMPONENTS: dict[str, Component] = {
    c.name: c
    for c in (
        Component(
            "etcd",
            ("etcd", "etcd-peer"),
            etcd_argv,
            lambda _l, p: http_ok(f"http://{LOOPBACK}:{p['etcd']}/readyz"),
        ),
        Component(
            "alertmanager",
            ("alertmanager",),
            alertmanager_argv,
            lambda _l, p: http_ok(f"http://{LOOPBACK}:{p['alertmanager']}/-/ready"),
            alertmanager_prepare,
        ),
        Component(
            "victoriametrics",
            ("victoriametrics",),
            victoriametrics_argv,
            lambda _l, p: http_ok(f"http://{LOOPBACK}:{p['victoriametrics']}/health", expect=b"OK"),
        ),
        Component("kube-apiserver", ("kube-apiserver",), apiserver_argv, apiserver_ready),
        Component(
            "prometheus",
            ("prometheus",),
            prometheus_argv,
            lambda _l, p: http_ok(f"http://{LOOPBACK}:{p['prometheus']}/-/ready"),
            prometheus_prepare,
        ),
    )
}
# Started phase by phase: kube-apiserver needs etcd, Prometheus's config
# names Alertmanager's port (which a failed bind may still change).
PHASES: tuple[tuple[str, ...], ...] = (
    ("etcd", "alertmanager", "victoriametrics"),
    ("kube-apiserver", "prometheus"),
)
ORDER = tuple(name for phase in PHASES for name in phase)
ALL_PORT_KEYS = tuple(key for c in COMPONENTS.values() for key in c.ports)


# --------------------------------------------------------------------------- commands


def assign_ports(state: State, names: list[str], reassign: bool = False) -> None:
    """Keep each recorded port if it is still free, else pick a new free one."""
    busy = listening_ports()
    for name in names:
        for key in COMPONENTS[name].ports:
            others = {p for k, p in state.ports.items() if k != key}
            current = state.ports.get(key)
            if current is None or reassign or current in busy or current in others:
                state.ports[key] = free_port(busy | others)


def start_phase(layout: Layout, state: State, names: list[str]) -> None:
    """Start ``names`` together, wait for all to be ready; retry a lost port race."""
    pending = list(names)
    for attempt in range(1, START_ATTEMPTS + 1):
        assign_ports(state, pending, reassign=attempt > 1)
        procs: dict[str, subprocess.Popen[bytes]] = {}
        for name in pending:
            comp = COMPONENTS[name]
            comp.prepare(layout, state.ports)
            proc = launch(comp.argv(layout, state.ports), layout.log(name), layout.root)
            procs[name] = proc
            state.pids[name] = proc.pid
            state.start_ticks[name] = start_ticks_of(proc.pid) or 0
        state.save(layout)
        failed: list[str] = []
        for name in pending:
            outcome = wait_ready(layout, state, name, procs[name])
            if outcome == "ready":
                continue
            if outcome == "exited" and "address already in use" in log_tail(layout.log(name)):
                failed.append(name)
                continue
            raise BenchError(failure_message(layout, state, name, outcome))
        if not failed:
            return
        print(f"testenv: port taken while starting {', '.join(failed)}; retrying on new ports")
        pending = failed
    raise BenchError(f"could not bind {', '.join(pending)} after {START_ATTEMPTS} attempts")


def wait_ready(
    layout: Layout, state: State, name: str, proc: subprocess.Popen[bytes] | None
) -> str:
    """'ready', 'exited' (the process died) or 'timeout'."""
    comp = COMPONENTS[name]
    deadline = time.monotonic() + READY_TIMEOUT_S[name]
    while time.monotonic() < deadline:
        if comp.ready(layout, state.ports):
            return "ready"
        if proc is not None and proc.poll() is not None:
            return "exited"
        if proc is None and not is_ours_and_alive(state, name):
            return "exited"
        time.sleep(0.2)
    return "timeout"


def failure_message(layout: Layout, state: State, name: str, outcome: str) -> str:
    port = state.ports.get(COMPONENTS[name].ports[0])
    what = (
        "exited before it was ready"
        if outcome == "exited"
        else f"was not ready within {READY_TIMEOUT_S[name]:.0f} s"
    )
    return (
        f"{name} (port {port}) {what}. Last lines of {layout.log(name)}:\n"
        f"{log_tail(layout.log(name))}"
    )


def stop_started(layout: Layout, state: State, names: list[str]) -> list[str]:
    """Stop the named components if they are ours and alive; reverse start order."""
    stopped = []
    for name in reversed([n for n in ORDER if n in names]):
        if is_ours_and_alive(state, name):
            how = terminate(state.pids[name], state.start_ticks[name], name)
            stopped.append(f"{name} (pid {state.pids[name]}, {how})")
        state.pids.pop(name, None)
        state.start_ticks.pop(name, None)
    state.save(layout)
    return stopped


def write_env_sh(layout: Layout, state: State) -> None:
    q = shlex.quote
    lines = [
        "# Written by hack/testenv.py up. Source it: . .testenv/env.sh",
        f"export OKR_TESTENV_DIR={q(str(layout.root))}",
        f"export KUBECONFIG={q(str(layout.kubeconfig))}",
        # kubectl's discovery cache, per bench: the default one in ~/.kube is
        # shared by every clone and outlives CRDs the tests delete.
        f"export KUBECACHEDIR={q(str(layout.kubecache))}",
        f"export PROMETHEUS_URL=http://{LOOPBACK}:{state.ports['prometheus']}",
        f"export ALERTMANAGER_URL=http://{LOOPBACK}:{state.ports['alertmanager']}",
        f"export VICTORIAMETRICS_URL=http://{LOOPBACK}:{state.ports['victoriametrics']}",
        f'export PATH={q(str(bin_dir()))}:"$PATH"',
    ]
    layout.env_sh.write_text("\n".join(lines) + "\n")


def wipe_data(layout: Layout) -> None:
    """Forget etcd objects, TSDB, silences and the targets/rules tests dropped."""
    for path in (
        layout.etcd_data,
        layout.prometheus_data,
        layout.prometheus / "targets",
        layout.prometheus / "rules",
        layout.alertmanager / "data",
        layout.victoriametrics_data,
        layout.kubecache,
    ):
        shutil.rmtree(path, ignore_errors=True)


def check_already_up(layout: Layout, state: State, owned_by_make_test: bool) -> None:
    for name in ORDER:
        if wait_ready(layout, state, name, None) != "ready":
            raise BenchError(
                failure_message(layout, state, name, "timeout")
                + "\nStop the bench with hack/testenv.py down and start it again."
            )
    if not owned_by_make_test:
        state.owned_by_make_test = False  # a developer wants it now: make test leaves it up
        state.save(layout)
    write_env_sh(layout, state)


def start_missing(layout: Layout, state: State, alive: list[str], dead: list[str]) -> None:
    try:
        for phase in PHASES:
            names = [name for name in phase if name in dead]
            if names:
                start_phase(layout, state, names)
    except BenchError:
        # No half-started bench: what this run started goes; the logs stay.
        stop_started(layout, state, dead)
        raise
    for name in alive:
        if wait_ready(layout, state, name, None) != "ready":
            raise BenchError(failure_message(layout, state, name, "timeout"))
    write_kubeconfig(layout, state.ports["kube-apiserver"])
    write_env_sh(layout, state)
    state.save(layout)


def cmd_up(layout: Layout, owned_by_make_test: bool, fresh: bool) -> None:
    started_at = time.monotonic()
    with locked(layout):
        state = State.load(layout)
        alive = [name for name in ORDER if is_ours_and_alive(state, name)]
        dead = [name for name in ORDER if name not in alive]
        if not dead:
            check_already_up(layout, state, owned_by_make_test)
            print(f"testenv already up (checked in {time.monotonic() - started_at:.1f} s)")
            return
        if alive:
            print(f"testenv: {', '.join(alive)} running; starting {', '.join(dead)}")
        elif fresh or owned_by_make_test:
            # make test's own bench starts empty, so one run never sees another's
            # leftovers (Terminating namespaces stay forever without a controller-manager).
            wipe_data(layout)
        state.owned_by_make_test = owned_by_make_test and not alive
        for directory in (layout.logs, layout.kubecache):
            directory.mkdir(parents=True, exist_ok=True)
        made_pki = ensure_pki(layout.pki)
        start_missing(layout, state, alive, dead)
    elapsed = time.monotonic() - started_at
    for name in ORDER:
        port = state.ports[COMPONENTS[name].ports[0]]
        print(f"  {name:<15} pid {state.pids[name]:<8} 127.0.0.1:{port}")
    print(f"  certificates    {'made' if made_pki else 'reused'} in {layout.pki}")
    print(f"  environment     . {layout.env_sh}")
    print(f"testenv up in {elapsed:.1f} s (started {', '.join(dead)})")


def cmd_down(layout: Layout, if_owned_by_make_test: bool) -> None:
    with locked(layout):
        state = State.load(layout)
        if if_owned_by_make_test and not state.owned_by_make_test:
            print("testenv: left running (it was not brought up by make test)")
            return
        not_running = [n for n in ORDER if n in state.pids and not is_ours_and_alive(state, n)]
        stopped = stop_started(layout, state, list(ORDER))
        state.owned_by_make_test = False
        state.save(layout)
        # Without a running bench env.sh would point at dead ports; its absence
        # is what tests/conftest.py reads as "no bench here".
        layout.env_sh.unlink(missing_ok=True)
    ports = {k: state.ports[k] for k in ALL_PORT_KEYS if k in state.ports}
    if not wait_until(lambda: not (set(ports.values()) & listening_ports()), 5.0):
        still = sorted(set(ports.values()) & listening_ports())
        raise BenchError(f"stopped the bench but ports {still} are still listening")
    for line in stopped:
        print(f"  stopped {line}")
    for name in not_running:
        print(f"  {name} had already exited")
    if not stopped and not not_running:
        print("  nothing was running")
    if ports:
        listed = ", ".join(f"{k} {p}" for k, p in ports.items())
        print(f"testenv down; nothing listens on its ports ({listed})")


def cmd_status(layout: Layout) -> int:
    state = State.load(layout)
    healthy = True
    for name in ORDER:
        port = state.ports.get(COMPONENTS[name].ports[0], "-")
        if not is_ours_and_alive(state, name):
            health = "stopped"
        elif COMPONENTS[name].ready(layout, state.ports):
            health = "ready"
        else:
            health = "NOT READY"
        healthy = healthy and health == "ready"
        pid = state.pids.get(name, "-") if health != "stopped" else "-"
        print(f"{name:<15} pid {pid!s:<8} port {port!s:<6} {health}")
    owner = "make test" if state.owned_by_make_test else "a developer"
    print(f"owned by {owner}; env: {layout.env_sh}")
    return 0 if healthy else 1


def cmd_import_history(layout: Layout, openmetrics: Path) -> None:
    if not openmetrics.is_file():
        raise BenchError(f"import-history: {openmetrics} is not a file")
    started_at = time.monotonic()
    with locked(layout):
        state = State.load(layout)
        if "prometheus" not in state.ports or "alertmanager" not in state.ports:
            raise BenchError("import-history: the bench was never started; run make testenv-up")
        stop_started(layout, state, ["prometheus"])
        layout.prometheus_data.mkdir(parents=True, exist_ok=True)
        log = layout.log("promtool-backfill")
        with log.open("wb") as out:
            result = subprocess.run(
                [
                    tool("promtool"),
                    "tsdb",
                    "create-blocks-from",
                    "openmetrics",
                    # Hidden in 2.42's help: without it promtool re-reads the whole
                    # file once per 2-hour block (60 days: 729 blocks, ~3 minutes).
                    "--max-block-duration=240h",
                    str(openmetrics),
                    str(layout.prometheus_data),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode != 0:
            raise BenchError(
                f"promtool could not backfill {openmetrics} (exit {result.returncode}):\n"
                f"{log_tail(log)}\nPrometheus stays stopped; hack/testenv.py up starts it again."
            )
        # promtool prints a table: a header, then one line per block, ULID first.
        ulid = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}\s")
        blocks = sum(1 for line in log.read_text().splitlines() if ulid.match(line))
        port = state.ports["prometheus"]
        if port in listening_ports():
            raise BenchError(f"import-history: port {port} of Prometheus was taken meanwhile")
        comp = COMPONENTS["prometheus"]
        comp.prepare(layout, state.ports)
        proc = launch(comp.argv(layout, state.ports), layout.log("prometheus"), layout.root)
        state.pids["prometheus"] = proc.pid
        state.start_ticks["prometheus"] = start_ticks_of(proc.pid) or 0
        state.save(layout)
        outcome = wait_ready(layout, state, "prometheus", proc)
        if outcome != "ready":
            raise BenchError(failure_message(layout, state, "prometheus", outcome))
    elapsed = time.monotonic() - started_at
    print(f"imported {openmetrics} ({blocks} blocks); Prometheus ready again in {elapsed:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hack/testenv.py", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=REPO / ".testenv", help="state directory")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the bench (idempotent)")
    up.add_argument("--owned-by-make-test", action="store_true")
    up.add_argument("--fresh", action="store_true", help="forget data of a previous bench")
    down = sub.add_parser("down", help="stop what up started")
    down.add_argument("--if-owned-by-make-test", action="store_true")
    sub.add_parser("status", help="pid, port and health of each component")
    history = sub.add_parser("import-history", help="backfill an OpenMetrics file with promtool")
    history.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    layout = Layout(args.dir.resolve())
    try:
        if args.command == "up":
            cmd_up(layout, args.owned_by_make_test, args.fresh)
        elif args.command == "down":
            cmd_down(layout, args.if_owned_by_make_test)
        elif args.command == "status":
            return cmd_status(layout)
        elif args.command == "import-history":
            cmd_import_history(layout, args.file.resolve())
    except BenchError as error:
        print(f"testenv: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
