"""A small organisation as a snapshot: shared by the view-model and renderer tests."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

from okr_operator.domain.model import (
    Basis,
    CarriedFrom,
    CheckIn,
    Commitment,
    Condition,
    ConditionStatus,
    ConditionType,
    Direction,
    Forecast,
    Health,
    KeyResult,
    KeyResultStatus,
    LatestCheckIn,
    Objective,
    ObjectiveStatus,
    Period,
    Ref,
)
from okr_operator.domain.periods import quarter_period
from okr_operator.domain.snapshot import KeyResultSnapshot, ObjectiveSnapshot, Snapshot

Q4 = quarter_period("2026-Q4", "Europe/Berlin")
OCTOBER = Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
H = Health


def utc(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def labels(team: str | None) -> MappingProxyType[str, str]:
    return MappingProxyType({"team": team} if team else {})


RELIABLE = Objective(
    ref=Ref("okr-company", "reliable"),
    generation=1,
    title="Customers can rely on us",
    period=Q4,
    owner="cto@example.com",
    labels=labels("leadership"),
)
INCIDENTS = Objective(
    ref=Ref("team-sre", "incidents"),
    generation=1,
    title="Incidents are rare",
    period=Q4,
    parent=Ref("okr-company", "reliable"),
    owner="sre@example.com",
    labels=labels("sre"),
)
LATENCY = KeyResult(
    ref=Ref("team-sre", "latency"),
    generation=1,
    objective="incidents",
    query="p95",
    direction=Direction.DECREASE,
    baseline=0.8,
    target=0.3,
    description="P95 checkout latency from 800 ms to 300 ms",
    owner="sre-lead@example.com",
    unit="seconds",
)
ESCALATIONS = KeyResult(
    ref=Ref("team-sre", "escalations"),
    generation=1,
    objective="incidents",
    query="escalations",
    direction=Direction.STAY_BELOW,
    target=4,
    weight=0.5,
    owner="sre@example.com",
    unit="per week",
    commitment=Commitment.ASPIRATIONAL,
    carried_from=Ref("team-sre", "escalations-q3"),
)
AVAILABILITY = KeyResult(
    ref=Ref("okr-company", "availability"),
    generation=1,
    objective="reliable",
    query="availability",
    direction=Direction.STAY_ABOVE,
    target=99.9,
    period=OCTOBER,
    description="99.9 % of checkouts succeed in October",
    owner="cto@example.com",
    unit="%",
    labels=labels("leadership"),
)
QUERY_FAILED = Condition(
    type=ConditionType.READY,
    status=ConditionStatus.FALSE,
    reason="QueryFailed",
    message="Prometheus answered 503",
    last_transition_time=utc(11, 16, 11),
    observed_generation=1,
)

SNAPSHOT = Snapshot(
    key_results=(
        KeyResultSnapshot(
            ref=LATENCY.ref,
            spec=LATENCY,
            period=Q4,
            status=KeyResultStatus(
                value=0.6,
                value_time=utc(11, 16, 11),
                progress=0.4,
                expected_progress=0.5,
                health=H.AT_RISK,
                history=(
                    CheckIn(utc(11, 16), 0.4, H.AT_RISK, 0.6),
                    CheckIn(utc(11, 8), 0.45, H.ON_TRACK, 0.575),
                    CheckIn(utc(11, 12), 0.42, H.AT_RISK, 0.59),
                ),
                check_in=LatestCheckIn(
                    name="latency-w46",
                    time=utc(11, 13, 9),
                    confidence=0.6,
                    note="CDN rollout slipped a week",
                    author="sre-lead@example.com",
                    blockers=("CDN contract | not signed", "edge team on call"),
                ),
                check_in_due=True,
                forecast=Forecast(progress=0.8, achieves=False, value=0.4, basis=Basis(3, 8.0)),
                commitment=Commitment.COMMITTED,
            ),
        ),
        KeyResultSnapshot(
            ref=AVAILABILITY.ref,
            spec=AVAILABILITY,
            period=OCTOBER,
            status=KeyResultStatus(
                value=99.5,
                value_time=utc(10, 31, 23),
                progress=0.0,
                expected_progress=1.0,
                grade=0.0,
                health=H.MISSED,
                history=(CheckIn(utc(10, 31), 0.0, H.OFF_TRACK, 99.5),),
            ),
        ),
        KeyResultSnapshot(
            ref=ESCALATIONS.ref,
            spec=ESCALATIONS,
            period=Q4,
            status=KeyResultStatus(
                value=3,
                progress=1.0,
                expected_progress=0.5,
                health=H.ON_TRACK,
                conditions=(QUERY_FAILED,),
                check_in_due=False,
                forecast=Forecast(progress=1.0, achieves=True, value=3.0, basis=Basis(5, 30.0)),
                commitment=Commitment.ASPIRATIONAL,
                carried_from=CarriedFrom("team-sre", "escalations-q3", grade=0.6),
            ),
        ),
        KeyResultSnapshot(
            ref=Ref("team-sre", "broken"),
            spec=None,
            period=None,
            status=KeyResultStatus(),
            invalid="KeyResult team-sre/broken: spec.target: is required",
        ),
    ),
    objectives=(
        ObjectiveSnapshot(
            ref=INCIDENTS.ref,
            spec=INCIDENTS,
            status=ObjectiveStatus(progress=0.7, expected_progress=0.5, health=H.ON_TRACK),
        ),
        ObjectiveSnapshot(
            ref=RELIABLE.ref,
            spec=RELIABLE,
            status=ObjectiveStatus(progress=0.35, expected_progress=0.5, health=H.AT_RISK),
        ),
    ),
)
