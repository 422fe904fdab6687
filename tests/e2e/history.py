"""Deterministic history for the e2e tests, backfilled with promtool.

Every series is a step: ``before`` until one day before ANCHOR, ``after`` from
then on, sampled hourly on the hour. ANCHOR is half past an hour, not in the
future, so ``$__elapsed`` windows never end on a sample and counts are exact.
Periods are 50 days either side of ANCHOR: expected progress is 0.5 (plus the
few minutes a test run takes, well inside every health band used below).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


def _anchor(now: datetime) -> datetime:
    hour = (now - timedelta(minutes=30)).replace(minute=0, second=0, microsecond=0)
    return hour + timedelta(minutes=30)


ANCHOR = _anchor(datetime.now(UTC))
START = ANCHOR - timedelta(days=50)
END = ANCHOR + timedelta(days=50)
FIRST_SAMPLE = (START - timedelta(days=1)).replace(minute=0)
LAST_SAMPLE = ANCHOR - timedelta(minutes=30)
STEP = timedelta(hours=1)


@dataclass(frozen=True)
class Series:
    """One step series of ``okr_e2e_value``."""

    labels: str
    before: float
    after: float

    def value_at(self, moment: datetime) -> float:
        """The value a query at ``moment`` sees."""
        return self.before if moment < ANCHOR - timedelta(days=1) else self.after


SERIES = {
    "ontrack": Series('case="ontrack"', 100, 160),
    "atrisk": Series('case="atrisk"', 100, 130),
    "offtrack": Series('case="offtrack"', 100, 110),
    "achieved": Series('case="achieved"', 100, 250),
    "latency": Series('case="latency"', 800, 550),
    "captured": Series('case="captured"', 40, 70),
    "failures": Series('case="failures"', 3, 3),
    "multi-a": Series('case="multi",shard="a"', 1, 1),
    "multi-b": Series('case="multi",shard="b"', 2, 2),
    "multi-c": Series('case="multi",shard="c"', 3, 3),
    "multi-d": Series('case="multi",shard="d"', 4, 4),
}


def sample_times() -> Iterator[datetime]:
    """The instants every series has a sample at."""
    moment = FIRST_SAMPLE
    while moment <= LAST_SAMPLE:
        yield moment
        moment += STEP


def openmetrics() -> str:
    """The whole history as OpenMetrics text, ready for promtool."""
    lines = ["# TYPE okr_e2e_value gauge", "# HELP okr_e2e_value Step series for the e2e tests."]
    for series in SERIES.values():
        lines.extend(
            f"okr_e2e_value{{{series.labels}}} {series.value_at(t):g} {int(t.timestamp())}"
            for t in sample_times()
        )
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def samples_in_window(start_exclusive: datetime, end_inclusive: datetime) -> int:
    """How many samples of one series lie in (start, end]: what count_over_time sees."""
    return sum(1 for t in sample_times() if start_exclusive < t <= end_inclusive)
