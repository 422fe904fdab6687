"""Objects whose exposition the metrics tests compare, covering every branch of a line.

Two key results with different ``okr.dev/`` labels (two label sets under one
info family), one never evaluated (``None`` numbers are left out), label
values that need escaping, a restored one, and objectives with and without a
parent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from okr_operator.domain.model import (
    Basis,
    Commitment,
    Direction,
    Forecast,
    Health,
    KeyResult,
    KeyResultStatus,
    Lags,
    LatestCheckIn,
    Objective,
    ObjectiveStatus,
    Period,
    Ref,
)

START = datetime(2026, 10, 1, tzinfo=UTC)
PERIOD = Period(START, START + timedelta(days=92))
EVALUATED = START + timedelta(days=46, hours=3)

LATENCY = KeyResult(
    ref=Ref("payments", "latency"),
    generation=3,
    objective="reliable",
    query="histogram_quantile(0.99, rate(x[5m]))",
    target=0.25,
    direction=Direction.DECREASE,
    baseline=0.8,
    weight=2.0,
    interval=timedelta(minutes=1),
    lags=Lags(at_risk=0.05, off_track=0.2),
    owner="sre@example.com",
    unit="s",
    labels=MappingProxyType({"team": "payments", "tier": "1", "owner": "x"}),
    carried_from=Ref("payments", "latency-2026-q3"),
)
LATENCY_STATUS = KeyResultStatus(
    observed_generation=3,
    value=0.41,
    value_time=EVALUATED - timedelta(seconds=2),
    progress=0.7090909090909091,
    expected_progress=0.5,
    health=Health.ON_TRACK,
    last_evaluation_time=EVALUATED,
    forecast=Forecast(progress=0.8, achieves=False, value=0.32, basis=Basis(points=5, days=9.0)),
    check_in=LatestCheckIn(name="week-3", time=EVALUATED - timedelta(days=1), confidence=0.7),
    check_in_due=False,
    commitment=Commitment.ASPIRATIONAL,
)
# Never evaluated with a number: no baseline yet, no direction, no value.
SIGNUPS = KeyResult(
    ref=Ref("payments", "signups"),
    generation=1,
    objective="reliable",
    query="sum(signups_total)",
    target=12000.0,
    interval=timedelta(minutes=5),
    owner='Ann "the PM" \\ growth',
    unit="signups\nper day",
)
SIGNUPS_STATUS = KeyResultStatus(observed_generation=1, health=Health.PENDING)
# Another namespace, another label set, a final grade.
UPTIME = KeyResult(
    ref=Ref("search", "uptime"),
    generation=1,
    objective="fast",
    query="avg_over_time(up[1h])",
    target=0.999,
    direction=Direction.STAY_ABOVE,
    baseline=0.99,
    period=PERIOD,
    labels=MappingProxyType({"9lives": "yes", "__meta": "m"}),
)
UPTIME_STATUS = KeyResultStatus(
    observed_generation=1,
    value=0.9995,
    value_time=EVALUATED,
    baseline=0.99,
    progress=1.0,
    expected_progress=1.0,
    health=Health.ACHIEVED,
    last_evaluation_time=EVALUATED,
    grade=1.0,
)

RELIABLE = Objective(
    ref=Ref("payments", "reliable"),
    generation=1,
    title="Payments are reliable",
    period=PERIOD,
    parent=Ref("company", "grow"),
    weight=3.0,
    owner="payments@example.com",
    labels=MappingProxyType({"team": "payments"}),
)
RELIABLE_STATUS = ObjectiveStatus(
    observed_generation=1,
    progress=0.4727272727272727,
    expected_progress=0.5,
    health=Health.AT_RISK,
    last_evaluation_time=EVALUATED,
    key_results=MappingProxyType({"total": 2, "OnTrack": 1, "Pending": 1}),
    forecast=Forecast(progress=0.8, achieves=False),
)
FAST = Objective(
    ref=Ref("search", "fast"),
    generation=2,
    title='Search is "fast"',
    period=PERIOD,
)
FAST_STATUS = ObjectiveStatus(observed_generation=2)
