"""Status (de)serialisation: complete dictionaries, round trips, tolerant reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okr_operator.api.status import (
    key_result_status_from_dict,
    key_result_status_to_dict,
    objective_status_from_dict,
    objective_status_to_dict,
)
from okr_operator.domain.model import (
    Basis,
    CheckIn,
    ChildRef,
    Condition,
    ConditionStatus,
    ConditionType,
    Display,
    Forecast,
    Health,
    KeyResultStatus,
    LatestCheckIn,
    ObjectiveStatus,
)

from .helpers import utc

pytestmark = pytest.mark.unit

READY = Condition(
    type=ConditionType.READY,
    status=ConditionStatus.TRUE,
    reason="Evaluated",
    message="value 0.312 at 2026-11-23T10:00:00Z",
    last_transition_time=utc(2026, 11, 1, 8),
    observed_generation=4,
)
DATA = Condition(
    type=ConditionType.DATA_AVAILABLE,
    status=ConditionStatus.TRUE,
    reason="DataReceived",
    message="",
    last_transition_time=utc(2026, 11, 1, 8),
    observed_generation=4,
)
READY_DICT = {
    "type": "Ready",
    "status": "True",
    "reason": "Evaluated",
    "message": "value 0.312 at 2026-11-23T10:00:00Z",
    "lastTransitionTime": "2026-11-01T08:00:00Z",
    "observedGeneration": 4,
}
DATA_DICT = {
    "type": "DataAvailable",
    "status": "True",
    "reason": "DataReceived",
    "message": "",
    "lastTransitionTime": "2026-11-01T08:00:00Z",
    "observedGeneration": 4,
}
BERLIN_SUMMER = timezone(timedelta(hours=2))


def test_a_key_result_status_becomes_a_complete_dict() -> None:
    status = KeyResultStatus(
        observed_generation=4,
        value=0.312,
        # Not UTC and with microseconds: written as UTC with whole seconds.
        value_time=datetime(2026, 11, 23, 12, 0, 0, 987654, tzinfo=BERLIN_SUMMER),
        baseline=0.45,
        progress=0.690000123,
        expected_progress=0.5543219,
        health=Health.ON_TRACK,
        last_evaluation_time=utc(2026, 11, 23, 10),
        grade=None,
        history=(
            CheckIn(
                time=utc(2026, 11, 22),
                progress=0.66666666,
                health=Health.AT_RISK,
                value=0.3,
                confidence=0.7,
            ),
            CheckIn(time=utc(2026, 11, 23), progress=None, health=Health.UNKNOWN),
        ),
        conditions=(READY, DATA),
        display=Display(value="0.312 seconds", target="0.3 seconds"),
        check_in=LatestCheckIn(
            name="week-47",
            time=utc(2026, 11, 20, 9),
            confidence=0.7,
            note="ok",
            author="ana",
            blockers=("vendor",),
        ),
        check_in_due=False,
    )
    assert key_result_status_to_dict(status) == {
        "observedGeneration": 4,
        "value": 0.312,
        "valueTime": "2026-11-23T10:00:00Z",
        "baseline": 0.45,
        "progress": 0.69,
        "expectedProgress": 0.5543,
        "health": "OnTrack",
        "lastEvaluationTime": "2026-11-23T10:00:00Z",
        "grade": None,
        "history": [
            {
                "time": "2026-11-22T00:00:00Z",
                "value": 0.3,
                "progress": 0.6667,
                "health": "AtRisk",
                "confidence": 0.7,
            },
            {"time": "2026-11-23T00:00:00Z", "health": "Unknown"},
        ],
        "conditions": [READY_DICT, DATA_DICT],
        "display": {"value": "0.312 seconds", "target": "0.3 seconds"},
        "forecast": None,
        "checkIn": {
            "name": "week-47",
            "time": "2026-11-20T09:00:00Z",
            "confidence": 0.7,
            "note": "ok",
            "author": "ana",
            "value": None,
            "blockers": ["vendor"],
        },
        "checkInDue": False,
        "commitment": None,
        "carriedFrom": None,
    }


def test_an_empty_key_result_status_deletes_every_field_in_a_merge_patch() -> None:
    assert key_result_status_to_dict(KeyResultStatus()) == {
        "observedGeneration": None,
        "value": None,
        "valueTime": None,
        "baseline": None,
        "progress": None,
        "expectedProgress": None,
        "health": None,
        "lastEvaluationTime": None,
        "grade": None,
        "history": [],
        "conditions": [],
        "display": None,
        "forecast": None,
        "checkIn": None,
        "checkInDue": None,
        "commitment": None,
        "carriedFrom": None,
    }


def test_a_display_without_a_value_keeps_the_target_and_deletes_the_value() -> None:
    written = key_result_status_to_dict(KeyResultStatus(display=Display(target="6 hours")))
    assert written["display"] == {"value": None, "target": "6 hours"}


def test_values_are_not_rounded_and_stay_floats() -> None:
    written = key_result_status_to_dict(KeyResultStatus(value=123456.789012345, baseline=3))
    assert (written["value"], written["baseline"]) == (123456.789012345, 3.0)
    assert isinstance(written["baseline"], float)


def test_non_finite_numbers_are_never_written() -> None:
    written = key_result_status_to_dict(
        KeyResultStatus(value=float("nan"), progress=float("inf"), grade=float("-inf"))
    )
    assert (written["value"], written["progress"], written["grade"]) == (None, None, None)


def test_an_objective_status_becomes_a_complete_dict() -> None:
    status = ObjectiveStatus(
        observed_generation=2,
        progress=0.123456,
        expected_progress=0.5,
        health=Health.MISSED,
        last_evaluation_time=utc(2027, 1, 1),
        grade=0.123456,
        key_results=MappingProxyType({"total": 3, "OnTrack": 2, "AtRisk": 1}),
        children=(
            ChildRef(namespace="team-a", name="fast", progress=0.5, health=Health.ON_TRACK),
            ChildRef(namespace="team-b", name="safe", progress=None, health=Health.UNKNOWN),
        ),
        history=(CheckIn(time=utc(2026, 12, 31), progress=0.1, health=Health.OFF_TRACK),),
        conditions=(READY,),
    )
    assert objective_status_to_dict(status) == {
        "observedGeneration": 2,
        "progress": 0.1235,
        "expectedProgress": 0.5,
        "health": "Missed",
        "lastEvaluationTime": "2027-01-01T00:00:00Z",
        "grade": 0.1235,
        "keyResults": {
            "total": 3,
            "Pending": 0,
            "OnTrack": 2,
            "AtRisk": 1,
            "OffTrack": 0,
            "Achieved": 0,
            "Missed": 0,
            "Unknown": 0,
        },
        "children": [
            {"namespace": "team-a", "name": "fast", "progress": 0.5, "health": "OnTrack"},
            {"namespace": "team-b", "name": "safe", "health": "Unknown"},
        ],
        "history": [{"time": "2026-12-31T00:00:00Z", "progress": 0.1, "health": "OffTrack"}],
        "conditions": [READY_DICT],
        "forecast": None,
        "carriedFrom": None,
    }


def test_an_empty_objective_status_writes_zero_counts() -> None:
    assert objective_status_to_dict(ObjectiveStatus()) == {
        "observedGeneration": None,
        "progress": None,
        "expectedProgress": None,
        "health": None,
        "lastEvaluationTime": None,
        "grade": None,
        "keyResults": {
            "total": 0,
            "Pending": 0,
            "OnTrack": 0,
            "AtRisk": 0,
            "OffTrack": 0,
            "Achieved": 0,
            "Missed": 0,
            "Unknown": 0,
        },
        "children": [],
        "history": [],
        "conditions": [],
        "forecast": None,
        "carriedFrom": None,
    }


# --- round trips --------------------------------------------------------------

ratios = st.none() | st.integers(0, 10_000).map(lambda n: n / 10_000)
values = st.none() | st.floats(allow_nan=False, allow_infinity=False, width=64)
# Whole seconds in UTC: what the wire format keeps.
times = st.integers(1_700_000_000, 1_900_000_000).map(lambda s: datetime.fromtimestamp(s, tz=UTC))
healths = st.sampled_from(Health)
check_ins = st.builds(
    CheckIn, time=times, progress=ratios, health=healths, value=values, confidence=ratios
)
latest_check_ins = st.none() | st.builds(
    LatestCheckIn,
    name=st.sampled_from(["week-47", "kr-1-20261120"]),
    time=times,
    confidence=st.integers(0, 10_000).map(lambda n: n / 10_000),
    note=st.text(max_size=40),
    author=st.text(max_size=10),
    value=values,
    blockers=st.lists(st.text(max_size=20), max_size=3).map(tuple),
)
conditions = st.builds(
    Condition,
    type=st.sampled_from(ConditionType),
    status=st.sampled_from(ConditionStatus),
    reason=st.sampled_from(["Evaluated", "QueryFailed", "NoData"]),
    message=st.text(max_size=40),
    last_transition_time=times,
    observed_generation=st.integers(0, 1000),
)
generations = st.none() | st.integers(1, 10**9)


@given(
    st.builds(
        KeyResultStatus,
        observed_generation=generations,
        value=values,
        value_time=st.none() | times,
        baseline=values,
        progress=ratios,
        expected_progress=ratios,
        health=st.none() | healths,
        last_evaluation_time=st.none() | times,
        grade=ratios,
        history=st.lists(check_ins, max_size=5).map(tuple),
        conditions=st.lists(conditions, max_size=3).map(tuple),
        display=st.builds(
            Display,
            value=st.none() | st.sampled_from(["41.85 hours", "99.94%"]),
            target=st.none() | st.sampled_from(["6 hours", "99.9%"]),
        ),
        check_in=latest_check_ins,
        check_in_due=st.none() | st.booleans(),
    )
)
def test_key_result_status_round_trips(status: KeyResultStatus) -> None:
    assert key_result_status_from_dict(key_result_status_to_dict(status)) == status


@given(
    st.builds(
        ObjectiveStatus,
        observed_generation=generations,
        progress=ratios,
        expected_progress=ratios,
        health=st.none() | healths,
        last_evaluation_time=st.none() | times,
        grade=ratios,
        key_results=st.dictionaries(
            st.sampled_from([h.value for h in Health]), st.integers(1, 50), max_size=4
        ).map(lambda counts: MappingProxyType({"total": sum(counts.values()), **counts})),
        children=st.lists(
            st.builds(
                ChildRef,
                namespace=st.sampled_from(["a", "b"]),
                name=st.sampled_from(["x", "y"]),
                progress=ratios,
                health=healths,
            ),
            max_size=3,
        ).map(tuple),
        history=st.lists(
            check_ins.map(lambda c: CheckIn(c.time, c.progress, c.health)), max_size=5
        ).map(tuple),
        conditions=st.lists(conditions, max_size=3).map(tuple),
    )
)
def test_objective_status_round_trips(status: ObjectiveStatus) -> None:
    assert objective_status_from_dict(objective_status_to_dict(status)) == status


# --- tolerant reading -----------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(None, id="no status yet"),
        pytest.param([], id="a status that is not a mapping"),
        pytest.param({}, id="an empty status"),
        pytest.param(
            {
                "observedGeneration": True,
                "value": "0.3",
                "valueTime": "yesterday",
                "baseline": float("nan"),
                "progress": [],
                "expectedProgress": None,
                "health": "Great",
                "lastEvaluationTime": 1700000000,
                "grade": {},
                "history": "none",
                "conditions": {"Ready": "True"},
                "display": {"value": 41.8, "target": ["6 hours"]},
            },
            id="every field malformed reads as its default",
        ),
    ],
)
def test_malformed_key_result_status_reads_as_defaults(raw: Any) -> None:
    assert key_result_status_from_dict(raw) == KeyResultStatus()


def test_malformed_items_are_skipped_and_good_ones_kept() -> None:
    raw = {
        "observedGeneration": 3,
        "value": 5,
        "lastEvaluationTime": "2026-11-23T10:00:00",  # no offset: metav1.Time is UTC
        "history": [
            "junk",
            {"time": "2026-11-20T00:00:00Z", "health": "Sideways"},
            {"time": "2026-11-21T00:00:00+01:00", "value": 4, "progress": 0.5, "health": "OnTrack"},
            {"health": "OnTrack"},
        ],
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-01T08:00:00Z"},
            {"type": "Custom", "status": "True", "lastTransitionTime": "2026-11-01T08:00:00Z"},
            {
                "type": "DataAvailable",
                "status": "Maybe",
                "lastTransitionTime": "2026-11-01T08:00:00Z",
            },
        ],
        "kopf": {"progress": {}},
    }
    assert key_result_status_from_dict(raw) == KeyResultStatus(
        observed_generation=3,
        value=5.0,
        last_evaluation_time=utc(2026, 11, 23, 10),
        history=(
            CheckIn(time=utc(2026, 11, 20, 23), progress=0.5, health=Health.ON_TRACK, value=4.0),
        ),
        conditions=(
            Condition(
                type=ConditionType.READY,
                status=ConditionStatus.TRUE,
                reason="",
                message="",
                last_transition_time=utc(2026, 11, 1, 8),
                observed_generation=0,
            ),
        ),
    )


def test_malformed_objective_status_reads_as_defaults_where_broken() -> None:
    raw = {
        "progress": 0.4,
        "keyResults": {"total": 2, "OnTrack": 2, "AtRisk": 0, "Bogus": 1, "Missed": "1"},
        "children": [
            {"namespace": "a", "name": "x", "health": "AtRisk", "progress": 0.2},
            {"namespace": "a", "health": "AtRisk"},
        ],
    }
    assert objective_status_from_dict(raw) == ObjectiveStatus(
        progress=0.4,
        key_results=MappingProxyType({"total": 2, "OnTrack": 2}),
        children=(ChildRef(namespace="a", name="x", progress=0.2, health=Health.AT_RISK),),
    )
    assert objective_status_from_dict({"keyResults": [1], "children": None}) == ObjectiveStatus()


def test_a_forecast_round_trips_through_its_dict() -> None:
    forecast = Forecast(
        progress=0.8125, achieves=False, value=40.5, basis=Basis(points=4, days=6.0)
    )
    written = key_result_status_to_dict(KeyResultStatus(forecast=forecast))["forecast"]
    assert written == {
        "value": 40.5,
        "progress": 0.8125,
        "achieves": False,
        "basis": {"points": 4, "days": 6.0},
    }
    assert key_result_status_from_dict({"forecast": written}).forecast == forecast
    objective = objective_status_to_dict(ObjectiveStatus(forecast=Forecast(0.5, achieves=False)))
    assert objective["forecast"] == {
        "value": None,
        "progress": 0.5,
        "achieves": False,
        "basis": None,
    }


def test_a_malformed_forecast_reads_as_none() -> None:
    assert key_result_status_from_dict({"forecast": {"progress": "x"}}).forecast is None
    assert key_result_status_from_dict({"forecast": {"progress": 0.5}}).forecast is None
