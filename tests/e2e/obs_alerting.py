"""The bench's Prometheus and Alertmanager wired to the running operator, for a test.

``scraping_operator`` makes the bench Prometheus scrape the operator (file_sd,
``job="okr-operator"`` like the chart's ServiceMonitor) and load the shipped
rules with every ``for:`` at 0s, so an alert fires one evaluation after its
condition holds instead of half an hour later. ``routing_team_to`` replaces the
bench Alertmanager's configuration with one that sends a team's alerts to a
webhook. Both put everything back when their ``with`` block ends.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import yaml

from tests.support.bench import Bench
from tests.support.processes import REPO_ROOT
from tests.support.prometheus import api_get, instant_query

T = TypeVar("T")
RULES = REPO_ROOT / "helm" / "okr-operator" / "files" / "okr-rules.yaml"
RULE_INTERVAL = "5s"  # the bench scrapes every 5 s; evaluating faster gains nothing


def fast_rules(text: str) -> dict[str, Any]:
    """The rules file with ``for: 0s`` on every rule and every group evaluated every 5 s.

    Expressions, labels and annotations stay exactly as shipped: those are what
    the test checks.
    """
    rules = yaml.safe_load(text)
    for group in rules["groups"]:
        group["interval"] = RULE_INTERVAL
        for rule in group["rules"]:
            rule["for"] = "0s"
    return dict(rules)


def team_alertmanager_config(team: str, receiver: str, url: str) -> dict[str, Any]:
    """Route ``team="<team>"`` to a webhook, everything else to a receiver that drops it."""
    return {
        "route": {
            "receiver": "null",
            "group_by": ["alertname", "namespace", "objective", "key_result"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
            "routes": [{"receiver": receiver, "matchers": [f'team="{team}"']}],
        },
        "receivers": [
            {"name": "null"},
            {"name": receiver, "webhook_configs": [{"url": url, "send_resolved": True}]},
        ],
    }


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    *,
    timeout: float,
    diagnostics: Callable[[], str] = lambda: "",
    interval: float = 1.0,
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` with diagnostics."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}\n{diagnostics()}"
            )
        time.sleep(interval)


def _write_atomically(path: Path, text: str) -> None:
    # The temporary name must not match the *.yml / *.json globs Prometheus reads.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _rule_file_loaded(bench: Bench, path: Path) -> bool:
    groups = api_get(bench.prometheus_url, "/api/v1/rules")["data"]["groups"]
    return any(group["file"] == str(path) for group in groups)


@contextmanager
def scraping_operator(bench: Bench, metrics_url: str) -> Iterator[str]:
    """The bench Prometheus scrapes ``metrics_url`` with the fast rules; yields the instance."""
    instance = urlsplit(metrics_url).netloc
    name = f"obs-{uuid.uuid4().hex[:8]}"
    rules_path = bench.prometheus_rules_dir / f"{name}.yml"
    target_path: Path | None = None
    try:
        _write_atomically(
            rules_path, yaml.safe_dump(fast_rules(RULES.read_text()), sort_keys=False)
        )
        target_path = bench.add_scrape_target(name, instance, {"job": "okr-operator"})
        bench.reload_prometheus()
        wait_for(
            f"Prometheus to load {rules_path}",
            lambda: _rule_file_loaded(bench, rules_path),
            timeout=30,
        )
        up = f'up{{job="okr-operator", instance="{instance}"}} == 1'
        wait_for(
            f"Prometheus to scrape the operator at {instance}",
            lambda: instant_query(bench.prometheus_url, up),
            timeout=60,
            diagnostics=lambda: json.dumps(
                api_get(bench.prometheus_url, "/api/v1/targets")["data"], indent=1
            ),
        )
        yield instance
    finally:
        rules_path.unlink(missing_ok=True)
        if target_path is not None:
            target_path.unlink(missing_ok=True)
        bench.reload_prometheus()


@contextmanager
def routing_team_to(bench: Bench, team: str, receiver: str, url: str) -> Iterator[None]:
    """The bench Alertmanager routes ``team`` to ``url``; its own config is restored after."""
    original = bench.alertmanager_config.read_text()
    config = team_alertmanager_config(team, receiver, url)
    try:
        _write_atomically(bench.alertmanager_config, json.dumps(config, indent=2))  # JSON is YAML
        bench.reload_alertmanager()
        wait_for(
            f"Alertmanager to load receiver {receiver}",
            lambda: (
                receiver in api_get(bench.alertmanager_url, "/api/v2/status")["config"]["original"]
            ),
            timeout=30,
        )
        yield
    finally:
        _write_atomically(bench.alertmanager_config, original)
        bench.reload_alertmanager()
