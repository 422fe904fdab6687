"""Prometheus and Alertmanager for tests: OpenMetrics history, throwaway servers, queries.

``start_prometheus_with_history`` backfills the given history with the real
``promtool tsdb create-blocks-from openmetrics`` into a data directory of its own
and starts a separate Prometheus there, so a test controls every sample and the
bench's Prometheus is untouched.
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.processes import LOOPBACK, RunningProcess, start_http_server, tool

# Backfilled blocks are subject to retention: the default 15d would delete history.
RETENTION = "3650d"


@dataclass(frozen=True)
class Series:
    """One time series of an OpenMetrics history: (unix seconds, value) points."""

    name: str
    labels: Mapping[str, str]
    points: Sequence[tuple[float, float]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _label_text(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def openmetrics_text(series: Sequence[Series]) -> str:
    """The OpenMetrics exposition promtool backfills: families grouped, ``# EOF`` last.

    Every sample carries its timestamp (promtool rejects samples without one) and
    the samples of one series stay contiguous and ordered, as the format demands.
    """
    lines: list[str] = []
    families: dict[str, list[Series]] = {}
    for one in series:
        families.setdefault(one.name, []).append(one)
    for name, members in families.items():
        lines.append(f"# TYPE {name} gauge")
        for member in members:
            labels = _label_text(member.labels)
            lines.extend(
                f"{name}{labels} {_number(value)} {_number(at)}"
                for at, value in sorted(member.points)
            )
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def backfill(openmetrics: str, data_dir: Path, workdir: Path) -> None:
    """``promtool tsdb create-blocks-from openmetrics`` into ``data_dir``."""
    source = workdir / "history.om"
    source.write_text(openmetrics)
    data_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            tool("promtool"),
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            # Hidden in 2.42's help: without it promtool re-reads the whole file once
            # per 2-hour block, quadratic in the span of the history.
            "--max-block-duration=240h",
            str(source),
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"promtool could not backfill {source} (exit {result.returncode}): "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )


def start_prometheus_with_history(
    openmetrics_text: str,
    workdir: Path,
    extra_config: Mapping[str, Any] | None = None,
    extra_args: Sequence[str] = (),
) -> RunningProcess:
    """A separate Prometheus 2.42 on a free port, holding exactly the given history.

    ``extra_config`` keys (``rule_files``, ``scrape_configs``, ``global``...) replace
    the defaults' keys of the same name; ``extra_args`` are more flags (for example
    ``--query.lookback-delta=3h``). Stop it with ``.stop()`` or a ``with`` block.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "data"
    backfill(openmetrics_text, data_dir, workdir)
    config: dict[str, Any] = {
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        **(extra_config or {}),
    }
    config_path = workdir / "prometheus.yml"
    config_path.write_text(json.dumps(config, indent=2))  # JSON is YAML

    def argv(port: int) -> list[str]:
        return [
            tool("prometheus"),
            f"--config.file={config_path}",
            f"--storage.tsdb.path={data_dir}",
            f"--storage.tsdb.retention.time={RETENTION}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--web.enable-lifecycle",
            "--web.enable-admin-api",
            *extra_args,
        ]

    return start_http_server("prometheus", argv, workdir, ready_path="/-/ready")


def start_alertmanager(config: str | Mapping[str, Any], workdir: Path) -> RunningProcess:
    """A separate Alertmanager 0.25 on a free port with ``config`` (YAML text or a mapping)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(config if isinstance(config, str) else json.dumps(config, indent=2))

    def argv(port: int) -> list[str]:
        return [
            tool("prometheus-alertmanager"),
            f"--config.file={config_path}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--cluster.listen-address=",  # no gossip listener on 0.0.0.0:9094
        ]

    return start_http_server("alertmanager", argv, workdir, ready_path="/-/ready")


def api_get(base_url: str, path: str, params: Mapping[str, str] | None = None) -> Any:
    """GET a Prometheus or Alertmanager JSON API path; returns the decoded body."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"{base_url}{path}{query}", timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def post(base_url: str, path: str, body: Any = None) -> int:
    """POST (JSON body or none), e.g. ``/-/reload``; returns the HTTP status."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback URL we built
        f"{base_url}{path}",
        data=data if data is not None else b"",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return int(response.status)


def instant_query(base_url: str, expr: str, at: float | None = None) -> list[dict[str, Any]]:
    """``/api/v1/query`` result (a vector's samples); ``at`` is the evaluation time."""
    params = {"query": expr}
    if at is not None:
        params["time"] = _number(at)
    body = api_get(base_url, "/api/v1/query", params)
    if body.get("status") != "success":
        raise RuntimeError(f"query {expr!r} failed: {body}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result
