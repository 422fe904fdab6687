"""The demo's metric model, its backfilled history and its exporter agree.

The history must be something promtool accepts, counters must never step back
(Prometheus would read a reset and ``increase()`` would jump), the exporter must
continue exactly where the history ends, and on 2026-11-23 the examples must
tell the story the demo promises (a mix of OnTrack, AtRisk, OffTrack, Achieved).
"""

from __future__ import annotations

import io
import math
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hack"))

import demo_exporter  # noqa: E402
import demo_model  # noqa: E402
import history  # noqa: E402

pytestmark = pytest.mark.unit

SeriesKey = tuple[str, frozenset[tuple[str, str]]]


def _at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+) (?P<time>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def _parse_history(text: str) -> dict[SeriesKey, list[tuple[float, float]]]:
    """Series -> [(timestamp, value)] from our own OpenMetrics output.

    A small parser of our own: prometheus_client's text parser reads timestamps
    as milliseconds (Prometheus text format), OpenMetrics has seconds.
    """
    series: dict[SeriesKey, list[tuple[float, float]]] = defaultdict(list)
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a timestamped sample: {line!r}"
        labels = frozenset(_LABEL.findall(match["labels"] or ""))
        series[(match["name"], labels)].append((float(match["time"]), float(match["value"])))
    return series


# --------------------------------------------------------------------------- steps


@pytest.mark.parametrize(
    ("sentence", "start", "end", "step", "expected"),
    [
        ("an end on the grid is the last step", 0.0, 1800.0, 900.0, [0.0, 900.0, 1800.0]),
        ("an end off the grid is added", 0.0, 1000.0, 900.0, [0.0, 900.0, 1000.0]),
        ("start equal to end is one sample", 50.0, 50.0, 900.0, [50.0]),
    ],
)
def test_steps(sentence: str, start: float, end: float, step: float, expected: list[float]) -> None:
    assert history.steps(start, end, step) == expected, sentence


def test_steps_rejects_an_end_before_the_start() -> None:
    with pytest.raises(ValueError, match=r"history: end 1\.0 is before start 2\.0"):
        history.steps(2.0, 1.0)


# --------------------------------------------------------------------------- promtool


def test_history_is_accepted_by_promtool(tmp_path: Path) -> None:
    # Two days around the quarter start at the real step: small enough for a
    # unit test, and it crosses the day boundaries the model's counters use.
    start = demo_model.PERIOD_START - 86_400
    end = demo_model.PERIOD_START + 86_400 + 123
    out = io.StringIO()
    samples = history.write_history(out, start, end)
    text = out.getvalue()
    source = tmp_path / "history.om"
    source.write_text(text)

    assert text.endswith("\n# EOF\n")
    step_count = len(history.steps(start, end))
    assert step_count == 194  # 192 steps of 15 minutes, the closing grid point and the end
    series = _parse_history(text)
    assert samples == len(series) * step_count

    blocks = tmp_path / "blocks"
    blocks.mkdir()
    result = subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(blocks)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in blocks.iterdir() if (p / "meta.json").is_file())


def test_history_series_are_contiguous_and_in_time_order() -> None:
    out = io.StringIO()
    history.write_history(out, demo_model.EPOCH, demo_model.EPOCH + 3 * 3600)
    seen: list[str] = []
    last_time: dict[str, float] = {}
    for line in out.getvalue().splitlines():
        if line.startswith("#"):
            continue
        series, _value, timestamp = line.rsplit(" ", 2)
        if not seen or seen[-1] != series:
            assert series not in seen, f"{series} is split in two runs"
            seen.append(series)
        assert float(timestamp) > last_time.get(series, -math.inf), line
        last_time[series] = float(timestamp)
    assert len(seen) == 39


# --------------------------------------------------------------------------- counters


def _quarter_values() -> dict[SeriesKey, list[float]]:
    model = demo_model.DemoModel()
    values: dict[SeriesKey, list[float]] = defaultdict(list)
    for t in history.steps(demo_model.EPOCH, demo_model.PERIOD_END):
        for family in model.families_at(t):
            for sample in family.samples:
                values[(sample.name, frozenset(sample.labels))].append(sample.value)
    return values


def test_counters_and_histograms_never_decrease_over_the_quarter() -> None:
    values = _quarter_values()
    monotone = [key for key in values if key[0].endswith(("_total", "_bucket", "_count", "_sum"))]
    assert len(monotone) == 38  # everything but the refresh-duration gauge
    for key in monotone:
        series = values[key]
        drops = [i for i in range(1, len(series)) if series[i] < series[i - 1]]
        assert drops == [], f"{key} decreases at steps {drops[:5]}"


def test_histogram_buckets_are_cumulative_and_inf_is_the_count() -> None:
    model = demo_model.DemoModel()
    for t in (_at("2026-10-01T00:00:00+02:00"), _at("2026-11-23T12:00:00+00:00")):
        for family in model.families_at(t):
            if family.type != "histogram":
                continue
            buckets = [s.value for s in family.samples if s.name.endswith("_bucket")]
            count = next(s.value for s in family.samples if s.name.endswith("_count"))
            assert buckets == sorted(buckets), family.name
            assert buckets[-1] == count, family.name
            assert count > 0, family.name


# --------------------------------------------------------------------------- exporter = history


def test_the_exporter_serves_what_the_history_ends_with() -> None:
    end = _at("2026-11-23T15:02:03+00:00")
    out = io.StringIO()
    history.write_history(out, end - 3600, end)
    last = {key: points[-1] for key, points in _parse_history(out.getvalue()).items()}
    assert {t for t, _value in last.values()} == {end}

    exposition = generate_latest(demo_exporter.registry(clock=lambda: end)).decode()
    served = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }
    assert served == {key: value for key, (_t, value) in last.items()}


# --------------------------------------------------------------------------- the story


class _Readings:
    """What the examples' queries return at ``t``, computed from the model.

    Increases are plain differences (Prometheus extrapolates a little at window
    edges); quantiles interpolate linearly inside a bucket like histogram_quantile.
    """

    def __init__(self, t: float) -> None:
        self.t = t
        self._model = demo_model.DemoModel()
        self._cache: dict[float, dict[SeriesKey, float]] = {}

    def _values(self, t: float) -> dict[SeriesKey, float]:
        if t not in self._cache:
            self._cache[t] = {
                (sample.name, frozenset(sample.labels)): sample.value
                for family in self._model.families_at(t)
                for sample in family.samples
            }
        return self._cache[t]

    def increase(
        self, name: str, window: float, match: Callable[[Mapping[str, str]], bool] = lambda _: True
    ) -> float:
        now, then = self._values(self.t), self._values(self.t - window)
        return sum(now[key] - then[key] for key in now if key[0] == name and match(dict(key[1])))

    def quantile(self, q: float, name: str, window: float) -> float:
        now, then = self._values(self.t), self._values(self.t - window)
        buckets = sorted(
            (float(dict(key[1])["le"]), now[key] - then[key])
            for key in now
            if key[0] == f"{name}_bucket"
        )
        rank = q * buckets[-1][1]
        lower, below = 0.0, 0.0
        for bound, count in buckets:
            if count >= rank:
                return lower + (bound - lower) * (rank - below) / (count - below)
            lower, below = bound, count
        raise AssertionError("unreachable: the +Inf bucket holds every observation")

    def gauge(self, name: str, at: float | None = None) -> float:
        values = self._values(self.t if at is None else at)
        return next(value for key, value in values.items() if key[0] == name)


def _health(progress: float, expected: float, at_risk: float = 0.10, off: float = 0.25) -> str:
    if progress >= 1.0:
        return "Achieved"
    if progress >= expected - at_risk:
        return "OnTrack"
    return "AtRisk" if progress >= expected - off else "OffTrack"


def _progress(value: float, baseline: float, target: float) -> float:
    return min(1.0, max(0.0, (value - baseline) / (target - baseline)))


def test_on_2026_11_23_the_examples_show_every_kind_of_health() -> None:
    now = _at("2026-11-23T15:00:00+00:00")
    r = _Readings(now)
    quarter = demo_model.PERIOD_START
    expected = (now - quarter) / (demo_model.PERIOD_END - quarter)
    elapsed = now - quarter
    week = 7 * 86_400.0

    ok = r.increase(
        "http_requests_total", elapsed, lambda labels: not labels["code"].startswith("5")
    )
    availability = 100 * ok / r.increase("http_requests_total", elapsed)
    lead_time = r.quantile(0.5, "deployment_lead_time_seconds", week) / 3600
    failures = r.increase(
        "deployments_total", elapsed, lambda labels: labels["result"] == "failure"
    )
    failure_rate = 100 * failures / r.increase("deployments_total", elapsed)
    incidents = r.increase(
        "incidents_total", elapsed, lambda labels: labels["customer_facing"] == "true"
    )
    p95 = r.quantile(0.95, "http_request_duration_seconds", 3600)
    escalations = r.increase("oncall_escalations_total", week)
    refresh_baseline = r.gauge("model_refresh_duration_seconds", at=quarter) / 3600
    refresh = r.gauge("model_refresh_duration_seconds") / 3600
    drift = r.increase("data_drift_detections_total", now - demo_model.DRIFT_PERIOD_START)

    health = {
        "checkout-availability": "OnTrack" if availability >= 99.9 else "OffTrack",
        "deployment-lead-time": _health(_progress(lead_time, 96, 6), expected),
        "change-failure-rate": "OnTrack" if failure_rate <= 5 else "OffTrack",
        "customer-facing-incidents": "OnTrack" if incidents <= 6 else "OffTrack",
        "checkout-p95-latency": _health(_progress(p95, 0.8, 0.3), expected),
        "oncall-escalations": _health(_progress(escalations, 12, 4), expected, 0.15, 0.3),
        "model-refresh-time": _health(_progress(refresh, refresh_baseline, 4), expected),
        "data-drift-alerts": "OnTrack" if drift <= 5 else "OffTrack",
    }
    assert health == {
        "checkout-availability": "OnTrack",
        "deployment-lead-time": "OnTrack",
        "change-failure-rate": "OnTrack",
        "customer-facing-incidents": "OnTrack",
        "checkout-p95-latency": "AtRisk",
        "oncall-escalations": "OffTrack",
        "model-refresh-time": "Achieved",
        "data-drift-alerts": "OnTrack",
    }
    # The numbers behind it, so a change of the model shows what moved.
    assert round(expected, 3) == 0.584
    assert (round(lead_time, 1), incidents, drift, escalations) == (41.4, 4.0, 2.0, 11.0)
    assert round(p95, 3) == 0.601
    assert round(refresh_baseline, 2) == 29.07
    assert round(availability, 3) == 99.937
    assert round(failure_rate, 2) == 3.9
