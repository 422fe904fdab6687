"""The demo organisation's metrics, as pure functions of time.

``hack/demo_exporter.py`` serves ``families_at(time.time())`` and ``hack/history.py``
backfills ``families_at(t)`` for past steps, so live scrapes continue the backfilled
history without a jump. Everything is deterministic: day-to-day noise comes from a
hash of the series name and the day number, never from a random generator, so two
runs (or the exporter and the backfill) agree to the last digit.

The trajectories are chosen so that on 2026-11-23 (mid 2026-Q4) the examples in
``examples/`` show a believable mix: most key results OnTrack, the checkout P95
AtRisk, on-call escalations OffTrack and the model refresh time Achieved.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
DAY = 86_400.0

# The quarter the examples measure.
PERIOD_START = datetime(2026, 10, 1, tzinfo=BERLIN).timestamp()
PERIOD_END = datetime(2027, 1, 1, tzinfo=BERLIN).timestamp()
# Counters start a week before the quarter so that 7-day windows (lead time,
# escalations) are already full when the quarter starts and a baseline captured
# at the period start has data to look at.
EPOCH = datetime(2026, 9, 24, tzinfo=BERLIN).timestamp()

# The data-drift key result has its own period (see examples/ml-platform/).
DRIFT_PERIOD_START = datetime(2026, 10, 15, tzinfo=BERLIN).timestamp()

# 1 h, 2 h, 4 h, 6 h, 12 h, 1 d, 2 d, 3 d, 4 d, 5 d, 7 d
LEAD_TIME_BUCKETS = (
    3600.0, 7200.0, 14400.0, 21600.0, 43200.0, 86400.0, 172800.0, 259200.0, 345600.0,
    432000.0, 604800.0,
)  # fmt: skip
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.5, 2.5, 5.0)

# Rare events at fixed times (UTC), so the story is the same on every machine.
CUSTOMER_FACING_INCIDENTS = (
    "2026-10-07T14:20:00",  # payment provider timeout storm
    "2026-10-19T03:05:00",  # expired certificate on the EU edge
    "2026-11-04T09:40:00",  # checkout database failover
    "2026-11-17T21:15:00",  # bad feature flag rollout
    "2026-12-09T11:30:00",  # (in the future on 2026-11-23)
)
DATA_DRIFT_DETECTIONS = (
    "2026-10-09T06:10:00",  # before the key result's period: not counted
    "2026-10-28T06:10:00",
    "2026-11-12T06:05:00",
    "2026-12-02T06:15:00",
)


@dataclass(frozen=True, slots=True)
class Sample:
    """One series' value: ``name`` is the sample name (``x_total``, ``x_bucket``)."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass(frozen=True, slots=True)
class Family:
    """A metric family as exposed: OpenMetrics name (no ``_total``), type, help."""

    name: str
    type: str  # "counter", "gauge" or "histogram"
    help: str
    samples: tuple[Sample, ...]


def noise(name: str, day: int) -> float:
    """A deterministic number in [-1, 1) for a series and a day."""
    digest = hashlib.sha256(f"{name}:{day}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**63 - 1.0


def day_of(t: float) -> int:
    """Days since EPOCH (the day an instant falls in)."""
    return math.floor((t - EPOCH) / DAY)


def quarter_day(day: int) -> float:
    """Days since the period start for a model day (negative before it)."""
    return day - (PERIOD_START - EPOCH) / DAY


def _utc(text: str) -> float:
    return datetime.fromisoformat(text + "+00:00").timestamp()


class DailyCounter:
    """A counter whose increase over model day ``d`` is ``per_day(d)``, spread evenly.

    Prefix sums are memoised, so evaluating it for thousands of history steps
    stays linear in the number of days.
    """

    def __init__(self, per_day: Callable[[int], float]) -> None:
        self._per_day = per_day
        self._prefix: list[float] = [0.0]

    def __call__(self, t: float) -> float:
        if t <= EPOCH:
            return 0.0
        day = day_of(t)
        while len(self._prefix) <= day:
            self._prefix.append(self._prefix[-1] + self._per_day(len(self._prefix) - 1))
        fraction = (t - EPOCH) / DAY - day
        return self._prefix[day] + self._per_day(day) * fraction


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def lognormal_cdf(value: float, median: float, sigma: float) -> float:
    """P(X <= value) for a log-normal with the given median and log-sd."""
    return _normal_cdf((math.log(value) - math.log(median)) / sigma)


# ---------------------------------------------------------------------------
# Trajectories (per model day). Kept as small functions so the story is readable.


def deploys_per_day(day: int) -> float:
    """Production deployments: ~9 a day, a few more as lead time falls."""
    q = max(0.0, quarter_day(day))
    return 9.0 + 0.05 * q + 3.0 * noise("deploys", day)


def lead_time_median_seconds(day: int) -> float:
    """Commit-to-production median: 4 days at the quarter start, falling ~1.7 % a day."""
    q = max(0.0, quarter_day(day))
    hours = 96.0 * math.exp(-0.01726 * q) * (1.0 + 0.12 * noise("lead-time", day))
    return hours * 3600.0


LEAD_TIME_SIGMA = 0.5


def change_failure_ratio(day: int) -> float:
    """Share of production deployments later rolled back or hotfixed."""
    return 0.038 + 0.015 * noise("change-failures", day)


def checkout_requests_per_day(day: int) -> float:
    return 2_000_000.0 * (1.0 + 0.1 * noise("checkout-requests", day))


def _incident_days() -> frozenset[int]:
    return frozenset(day_of(_utc(text)) for text in CUSTOMER_FACING_INCIDENTS)


def checkout_error_ratio(day: int) -> float:
    """5xx share: a low floor, and a bad day whenever a customer-facing incident hit."""
    base = 0.0004 + 0.0002 * noise("checkout-errors", day)
    return base + (0.003 if day in _incident_days() else 0.0)


def checkout_p95_seconds(day: int) -> float:
    """P95 of the checkout API: 0.8 s at the quarter start, improving slowly."""
    q = max(0.0, quarter_day(day))
    return (0.80 - 0.00382 * q) * (1.0 + 0.02 * noise("checkout-p95", day))


LATENCY_SIGMA = 0.45
_P95_Z = 1.6448536269514722  # the standard normal's 95th percentile


def escalations_per_day(day: int) -> float:
    """Pages escalated past the primary on-call: ~12 a week, barely improving."""
    q = max(0.0, quarter_day(day))
    weekly = 12.0 - 1.5 * q / 92.0
    return weekly / 7.0 * (1.0 + 0.25 * noise("escalations", day))


def model_refresh_hours(day: int) -> float:
    """Last refresh's duration: 30 h at the quarter start, under 4 h from mid-November."""
    q = max(0.0, quarter_day(day))
    trend = 30.0 - 0.6625 * q
    if trend > 3.5:
        return trend * (1.0 + 0.05 * noise("model-refresh", day))
    return 3.5 * (1.0 + 0.06 * noise("model-refresh", day))


# ---------------------------------------------------------------------------
# Event counters


def _events_before(times: Sequence[float], t: float) -> int:
    return sum(1 for event in times if event <= t)


@cache
def _internal_incident_times() -> tuple[float, ...]:
    """Incidents nobody outside noticed: roughly one every four days."""
    times = []
    for day in range(400):
        if noise("internal-incident", day) < -0.5:
            hour = (noise("internal-incident-hour", day) + 1.0) / 2.0
            times.append(EPOCH + (day + hour) * DAY)
    return tuple(times)


# ---------------------------------------------------------------------------
# The families


def _bucket_label(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(bound)


class DemoModel:
    """Every metric the examples query, for any instant.

    Holds the memoised counters; create one per process and call ``families_at``.
    """

    def __init__(self) -> None:
        self._deploys = DailyCounter(deploys_per_day)
        # Successes and failures are separate counters: "total minus failures"
        # of two floored counters can step back by one, which Prometheus would
        # read as a counter reset.
        self._deploy_failures = DailyCounter(lambda d: deploys_per_day(d) * change_failure_ratio(d))
        self._deploy_successes = DailyCounter(
            lambda d: deploys_per_day(d) * (1.0 - change_failure_ratio(d))
        )
        self._lead_buckets = [
            DailyCounter(
                _bucket_per_day(bound, deploys_per_day, lead_time_median_seconds, LEAD_TIME_SIGMA)
            )
            for bound in LEAD_TIME_BUCKETS
        ]
        # Log-normal mean = median * exp(sigma^2 / 2).
        self._lead_sum = DailyCounter(
            lambda d: (
                deploys_per_day(d) * lead_time_median_seconds(d) * math.exp(LEAD_TIME_SIGMA**2 / 2)
            )
        )
        self._requests = DailyCounter(checkout_requests_per_day)
        self._errors = DailyCounter(
            lambda d: checkout_requests_per_day(d) * checkout_error_ratio(d)
        )
        self._successes = DailyCounter(
            lambda d: checkout_requests_per_day(d) * (1.0 - checkout_error_ratio(d))
        )
        self._latency_buckets = [
            DailyCounter(
                _bucket_per_day(bound, checkout_requests_per_day, _latency_median, LATENCY_SIGMA)
            )
            for bound in LATENCY_BUCKETS
        ]
        self._latency_sum = DailyCounter(
            lambda d: (
                checkout_requests_per_day(d) * _latency_median(d) * math.exp(LATENCY_SIGMA**2 / 2)
            )
        )
        self._escalations = DailyCounter(escalations_per_day)
        self._incidents = tuple(_utc(text) for text in CUSTOMER_FACING_INCIDENTS)
        self._drifts = tuple(_utc(text) for text in DATA_DRIFT_DETECTIONS)

    def families_at(self, t: float) -> list[Family]:
        """The exposition at instant ``t`` (Unix seconds)."""
        # Counts of things are whole numbers; flooring a monotone function keeps
        # it monotone, and keeps every bucket <= the next one.
        return [
            self._deployments(t),
            self._lead_time(t),
            self._http_requests(t),
            self._latency(t),
            self._incidents_family(t),
            self._escalations_family(t),
            self._model_refresh(t),
            self._drift(t),
        ]

    def _deployments(self, t: float) -> Family:
        failed = math.floor(self._deploy_failures(t))
        succeeded = math.floor(self._deploy_successes(t))
        env = ("environment", "production")
        return Family(
            "deployments",
            "counter",
            "Production deployments by outcome (failure: rolled back or hotfixed).",
            (
                Sample("deployments_total", (env, ("result", "failure")), float(failed)),
                Sample("deployments_total", (env, ("result", "success")), float(succeeded)),
            ),
        )

    def _lead_time(self, t: float) -> Family:
        labels = (("environment", "production"),)
        return _histogram(
            "deployment_lead_time_seconds",
            "Time from a change's commit to its production rollout.",
            labels=labels,
            bounds=LEAD_TIME_BUCKETS,
            counts=[math.floor(bucket(t)) for bucket in self._lead_buckets],
            count=math.floor(self._deploys(t)),
            total=self._lead_sum(t),
        )

    def _http_requests(self, t: float) -> Family:
        ok = math.floor(self._successes(t))
        errors = math.floor(self._errors(t))
        return Family(
            "http_requests",
            "counter",
            "HTTP requests served, by status code.",
            (
                Sample("http_requests_total", _checkout("200"), float(ok)),
                Sample("http_requests_total", _checkout("500"), float(errors)),
            ),
        )

    def _latency(self, t: float) -> Family:
        return _histogram(
            "http_request_duration_seconds",
            "HTTP request latency.",
            labels=(("service", "checkout"),),
            bounds=LATENCY_BUCKETS,
            counts=[math.floor(bucket(t)) for bucket in self._latency_buckets],
            count=math.floor(self._requests(t)),
            total=self._latency_sum(t),
        )

    def _incidents_family(self, t: float) -> Family:
        customer = _events_before(self._incidents, t)
        internal = _events_before(_internal_incident_times(), t)
        return Family(
            "incidents",
            "counter",
            "Incidents declared, by whether customers were affected.",
            (
                Sample("incidents_total", (("customer_facing", "false"),), float(internal)),
                Sample("incidents_total", (("customer_facing", "true"),), float(customer)),
            ),
        )

    def _escalations_family(self, t: float) -> Family:
        return Family(
            "oncall_escalations",
            "counter",
            "Pages escalated past the primary on-call.",
            (
                Sample(
                    "oncall_escalations_total",
                    (("team", "reliability"),),
                    float(math.floor(self._escalations(t))),
                ),
            ),
        )

    def _model_refresh(self, t: float) -> Family:
        return Family(
            "model_refresh_duration_seconds",
            "gauge",
            "Duration of the last completed model refresh, from new data to serving.",
            (
                Sample(
                    "model_refresh_duration_seconds",
                    (("model", "recommendations"),),
                    round(model_refresh_hours(max(day_of(t), 0)) * 3600.0, 1),
                ),
            ),
        )

    def _drift(self, t: float) -> Family:
        return Family(
            "data_drift_detections",
            "counter",
            "Dataset drift detected by the nightly drift report.",
            (
                Sample(
                    "data_drift_detections_total",
                    (("model", "recommendations"),),
                    float(_events_before(self._drifts, t)),
                ),
            ),
        )


def _bucket_per_day(
    bound: float,
    per_day: Callable[[int], float],
    median: Callable[[int], float],
    sigma: float,
) -> Callable[[int], float]:
    """Daily increase of one histogram bucket: observations at or below ``bound``."""
    return lambda day: per_day(day) * lognormal_cdf(bound, median(day), sigma)


def _latency_median(day: int) -> float:
    return checkout_p95_seconds(day) / math.exp(_P95_Z * LATENCY_SIGMA)


def _checkout(code: str) -> tuple[tuple[str, str], ...]:
    return (("code", code), ("service", "checkout"))


def _histogram(
    name: str,
    help_text: str,
    *,
    labels: tuple[tuple[str, str], ...],
    bounds: Sequence[float],
    counts: Sequence[int],
    count: int,
    total: float,
) -> Family:
    samples = [
        Sample(f"{name}_bucket", (*labels, ("le", _bucket_label(bound))), float(n))
        for bound, n in zip(bounds, counts, strict=True)
    ]
    samples.append(Sample(f"{name}_bucket", (*labels, ("le", "+Inf")), float(count)))
    samples.append(Sample(f"{name}_count", labels, float(count)))
    samples.append(Sample(f"{name}_sum", labels, round(total, 3)))
    return Family(name, "histogram", help_text, tuple(samples))
