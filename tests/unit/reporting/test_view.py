"""The reporting view model, as pure code: a small organisation and its complete JSON."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from okr_operator.domain.model import Period, Ref
from okr_operator.domain.periods import quarter_period
from okr_operator.domain.snapshot import Snapshot
from okr_operator.reporting.view import Point, build_report, period_label, report_to_json

from .fixtures import NOW, SNAPSHOT

pytestmark = pytest.mark.unit

Q4_START, Q4_END = "2026-09-30T22:00:00Z", "2026-12-31T23:00:00Z"  # Berlin midnights in UTC
NO_CHECK_INS = {"commitment": "Committed", "confidence": None, "checkIn": None,
                "checkInDue": None, "forecast": None, "carriedFrom": None}  # fmt: skip


def _counts(**counts: int) -> dict[str, int]:
    zero = dict.fromkeys(
        ["Pending", "OnTrack", "AtRisk", "OffTrack", "Achieved", "Missed", "Unknown"], 0
    )
    return zero | counts


AVAILABILITY = {
    "namespace": "okr-company", "name": "availability", "objective": "reliable",
    "description": "99.9 % of checkouts succeed in October", "owner": "cto@example.com",
    "team": "leadership", "weight": 1.0, "unit": "%", "direction": "StayAbove",
    "baseline": None, "target": 99.9, "value": 99.5, "valueTime": "2026-10-31T23:00:00Z",
    "progress": 0.0, "expectedProgress": 1.0, "grade": 0.0, "score": 0.0, "health": "Missed",
    "period": {"label": "2026-10-01 \u2013 2026-10-31", "start": "2026-10-01T00:00:00Z",
               "end": "2026-11-01T00:00:00Z"},
    "problem": None,
    "trajectory": {"source": "history",
                   "points": [{"time": "2026-10-31T00:00:00Z", "value": 99.5}],
                   "expected": [], "target": 99.9},
    "history": [{"time": "2026-10-31T00:00:00Z", "value": 99.5, "progress": 0.0,
                 "health": "OffTrack"}],
    **NO_CHECK_INS,
}  # fmt: skip
ESCALATIONS = {
    "namespace": "team-sre", "name": "escalations", "objective": "incidents",
    "description": "", "owner": "sre@example.com", "team": "sre", "weight": 0.5,
    "unit": "per week", "direction": "StayBelow", "baseline": None, "target": 4,
    "value": 3, "valueTime": None, "progress": 1.0, "expectedProgress": 0.5, "grade": None,
    "score": 1.0, "health": "OnTrack",
    "period": {"label": "2026-Q4", "start": Q4_START, "end": Q4_END},
    "problem": {"reason": "QueryFailed", "message": "Prometheus answered 503"},
    "trajectory": {"source": "history", "points": [], "expected": [], "target": 4},
    "history": [],
    "commitment": "Aspirational", "confidence": None, "checkIn": None, "checkInDue": False,
    "forecast": {"progress": 1.0, "achieves": True, "value": 3.0,
                 "basis": {"points": 5, "days": 30.0}},
    "carriedFrom": {"namespace": "team-sre", "name": "escalations-q3", "grade": 0.6},
}  # fmt: skip
LATENCY = {
    "namespace": "team-sre", "name": "latency", "objective": "incidents",
    "description": "P95 checkout latency from 800 ms to 300 ms",
    "owner": "sre-lead@example.com", "team": "sre", "weight": 1.0, "unit": "seconds",
    "direction": "Decrease", "baseline": 0.8, "target": 0.3, "value": 0.6,
    "valueTime": "2026-11-16T11:00:00Z", "progress": 0.4, "expectedProgress": 0.5,
    "grade": None, "score": 0.4, "health": "AtRisk",
    "period": {"label": "2026-Q4", "start": Q4_START, "end": Q4_END},
    "problem": None,
    "trajectory": {
        "source": "history",
        "points": [{"time": "2026-11-08T00:00:00Z", "value": 0.575},
                   {"time": "2026-11-12T00:00:00Z", "value": 0.59},
                   {"time": "2026-11-16T00:00:00Z", "value": 0.6}],
        "expected": [{"time": Q4_START, "value": 0.8}, {"time": Q4_END, "value": 0.3}],
        "target": 0.3,
    },
    "history": [
        {"time": "2026-11-08T00:00:00Z", "value": 0.575, "progress": 0.45, "health": "OnTrack"},
        {"time": "2026-11-12T00:00:00Z", "value": 0.59, "progress": 0.42, "health": "AtRisk"},
        {"time": "2026-11-16T00:00:00Z", "value": 0.6, "progress": 0.4, "health": "AtRisk"},
    ],
    "commitment": "Committed", "confidence": 0.6,
    "checkIn": {"name": "latency-w46", "time": "2026-11-13T09:00:00Z", "confidence": 0.6,
                "note": "CDN rollout slipped a week", "author": "sre-lead@example.com",
                "value": None, "blockers": ["CDN contract | not signed", "edge team on call"]},
    "checkInDue": True,
    "forecast": {"progress": 0.8, "achieves": False, "value": 0.4,
                 "basis": {"points": 3, "days": 8.0}},
    "carriedFrom": None,
}  # fmt: skip
INCIDENTS = {
    "namespace": "team-sre", "name": "incidents", "title": "Incidents are rare",
    "description": "", "owner": "sre@example.com", "team": "sre", "weight": 1.0,
    "rollup": "WeightedAverage", "parent": {"namespace": "okr-company", "name": "reliable"},
    "period": {"label": "2026-Q4", "start": Q4_START, "end": Q4_END},
    "progress": 0.7, "expectedProgress": 0.5, "grade": None, "score": 0.7, "health": "OnTrack",
    "problem": None, "history": [], "keyResults": [ESCALATIONS, LATENCY], "children": [],
    "commitment": "Committed", "forecast": None, "carriedFrom": None,
}  # fmt: skip
RELIABLE = {
    "namespace": "okr-company", "name": "reliable", "title": "Customers can rely on us",
    "description": "", "owner": "cto@example.com", "team": "leadership", "weight": 1.0,
    "rollup": "WeightedAverage", "parent": None,
    "period": {"label": "2026-Q4", "start": Q4_START, "end": Q4_END},
    "progress": 0.35, "expectedProgress": 0.5, "grade": None, "score": 0.35,
    "health": "AtRisk", "problem": None, "history": [], "keyResults": [AVAILABILITY],
    "children": [INCIDENTS], "commitment": "Committed", "forecast": None, "carriedFrom": None,
}  # fmt: skip


def _item(kr: dict[str, object]) -> dict[str, object]:
    return {
        "kind": "KeyResult", "namespace": kr["namespace"], "name": kr["name"],
        "label": kr["description"] or kr["name"], "team": kr["team"], "owner": kr["owner"],
        "health": kr["health"], "score": kr["score"], "expectedProgress": kr["expectedProgress"],
    }  # fmt: skip


EXPECTED = {
    "version": 1,
    "generatedAt": "2026-11-16T12:00:00Z",
    "period": None,
    "summary": {"objectives": 2, "keyResults": 3,
                "health": _counts(OnTrack=1, AtRisk=1, Missed=1)},
    "objectives": [RELIABLE],
    "review": {
        "since": "2026-11-09T12:00:00Z",
        "missed": [_item(AVAILABILITY)],
        "behind": [_item(LATENCY)],
        "changes": [
            {"kind": "KeyResult", "namespace": "team-sre", "name": "latency",
             "label": "P95 checkout latency from 800 ms to 300 ms", "team": "sre",
             "owner": "sre-lead@example.com", "healthBefore": "OnTrack", "health": "AtRisk",
             "transitions": [{"time": "2026-11-12T00:00:00Z", "before": "OnTrack",
                              "after": "AtRisk"}],
             "progressBefore": 0.45, "progress": 0.4, "progressChange": -0.05},
            # Frozen at the period end: the last point said OffTrack, status says Missed.
            {"kind": "KeyResult", "namespace": "okr-company", "name": "availability",
             "label": "99.9 % of checkouts succeed in October", "team": "leadership",
             "owner": "cto@example.com", "healthBefore": "OffTrack", "health": "Missed",
             "transitions": [{"time": "2026-11-16T12:00:00Z", "before": "OffTrack",
                              "after": "Missed"}],
             "progressBefore": 0.0, "progress": 0.0, "progressChange": 0.0},
        ],
        "aspirational": [_item(ESCALATIONS)], "carriedOver": [_item(ESCALATIONS)],
        "blockers": [{"item": _item(LATENCY),
                      "blockers": ["CDN contract | not signed", "edge team on call"],
                      "checkIn": "latency-w46", "time": "2026-11-13T09:00:00Z",
                      "author": "sre-lead@example.com"}],
        "checkInsDue": [_item(LATENCY)], "forecastMisses": [_item(LATENCY)],
    },
    "invalid": [{"kind": "KeyResult", "namespace": "team-sre", "name": "broken",
                 "message": "KeyResult team-sre/broken: spec.target: is required"}],
}  # fmt: skip


def test_the_whole_view_model_of_a_small_organisation() -> None:
    assert report_to_json(build_report(SNAPSHOT, now=NOW)) == EXPECTED


def test_a_period_keeps_its_objectives_and_drops_the_others_without_calling_them_invalid() -> None:
    q4 = report_to_json(build_report(SNAPSHOT, now=NOW, period="2026-Q4"))
    assert q4 == EXPECTED | {"period": "2026-Q4"}
    q3 = report_to_json(build_report(SNAPSHOT, now=NOW, period="2026-Q3"))
    assert q3["objectives"] == []
    assert q3["summary"] == {"objectives": 0, "keyResults": 0, "health": _counts()}
    assert q3["invalid"] == EXPECTED["invalid"]  # only the unparseable one


def test_a_key_result_whose_objective_is_missing_is_listed_as_invalid() -> None:
    orphans = replace(SNAPSHOT, objectives=SNAPSHOT.objectives[:1])  # drops okr-company/reliable
    body = report_to_json(build_report(orphans, now=NOW))
    assert [obj["name"] for obj in body["objectives"]] == ["incidents"]  # now a root
    assert body["invalid"][0] == {
        "kind": "KeyResult", "namespace": "okr-company", "name": "availability",
        "message": "KeyResult okr-company/availability: Objective okr-company/reliable "
                   "(spec.objectiveRef) not found",
    }  # fmt: skip


def test_range_query_points_replace_the_history_on_the_chart() -> None:
    t = datetime(2026, 11, 16, tzinfo=UTC)
    series = {Ref("team-sre", "latency"): [Point(t, 0.61), Point(t - timedelta(hours=1), 0.62)]}
    report = report_to_json(build_report(SNAPSHOT, now=NOW, series=series))
    latency = report["objectives"][0]["children"][0]["keyResults"][1]
    assert latency["trajectory"] == LATENCY["trajectory"] | {
        "source": "prometheus",
        "points": [{"time": "2026-11-15T23:00:00Z", "value": 0.62},
                   {"time": "2026-11-16T00:00:00Z", "value": 0.61}],
    }  # fmt: skip
    assert latency["history"] == LATENCY["history"]  # the table still shows status.history


def test_a_longer_review_window_sees_the_older_points() -> None:
    changes = report_to_json(build_report(SNAPSHOT, now=NOW, since=timedelta(days=30)))
    latency = changes["review"]["changes"][0]
    # No point before the window: the first point inside it is the "before".
    assert latency["progressBefore"] == 0.45
    assert latency["healthBefore"] == "OnTrack"
    assert build_report(Snapshot(), now=NOW).review.changes == ()


@pytest.mark.parametrize(
    ("period", "label"),
    [
        (quarter_period("2026-Q4", "Europe/Berlin"), "2026-Q4"),
        (quarter_period("2027-Q1"), "2027-Q1"),
        (Period(datetime(2026, 10, 15, tzinfo=UTC), datetime(2026, 12, 19, tzinfo=UTC)),
         "2026-10-15 \u2013 2026-12-18"),
        # The same instants as a quarter but without a named zone: dates, not a guess.
        (Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
         "2026-10-01 \u2013 2026-12-31"),
    ],
)  # fmt: skip
def test_period_label(period: Period, label: str) -> None:
    assert period_label(period) == label


def test_a_malformed_period_is_refused() -> None:
    with pytest.raises(ValueError, match="expected YEAR-Qn"):
        build_report(SNAPSHOT, now=NOW, period="Q4-2026")
