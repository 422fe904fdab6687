"""Issue 4 end to end: the operator's /metrics, alerts through Alertmanager, dashboards.

The operator (session fixture, ``okr run -A``) evaluates key results against
the history Prometheus of ``tests/e2e/history.py``. The bench's own Prometheus
scrapes the operator and evaluates the shipped rules (``for:`` at 0s); the
bench's Alertmanager routes by team to a webhook this test serves.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e import history
from tests.e2e.obs_alerting import routing_team_to, scraping_operator, wait_for
from tests.e2e.obs_exposition import Exposition
from tests.e2e.obs_webhook import WebhookReceiver
from tests.e2e.test_key_results import evaluated, key_result, objective, series
from tests.support.bench import Bench
from tests.support.dashboards import dashboard_paths, load_dashboard, panel_queries
from tests.support.prometheus import api_get, instant_query
from tests.support.runner import Kube, RunningOperator

pytestmark = pytest.mark.e2e

HEALTHS = ("Pending", "OnTrack", "AtRisk", "OffTrack", "Achieved", "Missed", "Unknown")
PERIOD_SECONDS = (history.END - history.START).total_seconds()
# Key result families of the contract whose value is one number per key result.
KR_NUMBERS = (
    "okr_key_result_value",
    "okr_key_result_target",
    "okr_key_result_baseline",
    "okr_key_result_progress_ratio",
    "okr_key_result_expected_progress_ratio",
    "okr_key_result_weight",
    "okr_key_result_period_start_timestamp_seconds",
    "okr_key_result_period_end_timestamp_seconds",
    "okr_key_result_last_evaluation_timestamp_seconds",
)
OBJECTIVE_NUMBERS = ("okr_objective_progress_ratio", "okr_objective_expected_progress_ratio")
EVALUATION_WAIT = 60.0
ALERT_WAIT = 120.0


def unique_team() -> str:
    return f"team-{uuid.uuid4().hex[:8]}"


def labelled(body: dict[str, Any], **labels: str) -> dict[str, Any]:
    """``body`` with ``okr.dev/<key>: value`` metadata labels."""
    body["metadata"]["labels"] = {f"okr.dev/{key}": value for key, value in labels.items()}
    return body


def expected_progress_now(slack: timedelta = timedelta(minutes=2)) -> Any:
    """What okr_*_expected_progress_ratio may read now: the elapsed share, give or take."""
    low = (datetime.now(UTC) - slack - history.START).total_seconds() / PERIOD_SECONDS
    high = (datetime.now(UTC) + slack - history.START).total_seconds() / PERIOD_SECONDS
    return pytest.approx((low + high) / 2, abs=(high - low) / 2)


def health_is(health: str) -> Callable[[dict[str, Any]], bool]:
    """A status check for ``Kube.wait_status``."""
    return lambda status: status.get("health") == health


def scrape(operator: RunningOperator) -> Exposition:
    return Exposition.parse(operator.metrics())


def metrics_of(operator: RunningOperator, ns: str) -> str:
    """The operator's exposition lines about ``ns`` (plus its own families), for failures."""
    lines = operator.metrics().splitlines()
    own = ("okr_evaluations_total", "okr_query_errors_total", "okr_status_writes_total")
    return "\n".join(line for line in lines if f'"{ns}"' in line or line.startswith(own))


def delete_key_result(kube: Kube, ns: str, name: str) -> None:
    kube.custom.delete_namespaced_custom_object("okr.dev", "v1alpha1", ns, "keyresults", name)


# --------------------------------------------------------------------------- 1. /metrics


def test_metrics_carry_every_number_of_spec_and_status(
    kube: Kube, ns: str, operator: RunningOperator
) -> None:
    team = unique_team()
    before = scrape(operator)
    started = datetime.now(UTC)
    kube.create(labelled(objective(ns, "company", owner="ceo@example.com"), team=team))
    kube.create(
        labelled(
            objective(ns, "goal", owner="lead@example.com", parentRef={"name": "company"}),
            team=team,
        )
    )
    kube.create(objective(ns, "broken"))
    # Key results created before the operator saw their objective would count a
    # reference_not_found error first; this test wants only the errors it provokes.
    for name in ("company", "goal", "broken"):
        kube.wait_status("Objective", ns, name, evaluated, what="a health", log=operator.log_tail())
    kube.create(
        labelled(
            key_result(
                ns, "on-track", series("ontrack"), 200, baseline=100, weight=2,
                owner="alice@example.com", unit="requests",
            ),
            team=team,
        )
    )  # fmt: skip
    kube.create(labelled(key_result(ns, "at-risk", series("atrisk"), 200, baseline=100), team=team))
    kube.create(
        key_result(
            ns, "failing", "limitk(1, okr_e2e_value)", 1, direction="StayAbove",
            objectiveRef={"name": "broken"},
        )
    )  # fmt: skip
    log = operator.log_tail()
    for name in ("on-track", "at-risk", "failing"):
        kube.wait_status("KeyResult", ns, name, evaluated, what="a health", log=log)

    # (1.2 + 0.3) / 3: both key results counted, then the one child of company.
    def settled() -> Exposition | None:
        now = scrape(operator)
        progress = now.by_label("okr_objective_progress_ratio", "objective", namespace=ns)
        return now if progress == {"company": 0.5, "goal": 0.5} else None

    got = wait_for(
        "objective progress 0.5 in /metrics",
        settled,
        timeout=EVALUATION_WAIT,
        diagnostics=lambda: metrics_of(operator, ns),
    )
    finished = datetime.now(UTC)

    def numbers(name: str) -> dict[str, float | None]:
        return {family: got.value(family, namespace=ns, key_result=name) for family in KR_NUMBERS}

    evaluated_between = pytest.approx(
        (started.timestamp() + finished.timestamp()) / 2,
        abs=(finished - started).total_seconds() / 2 + 1,
    )
    period = {
        "okr_key_result_period_start_timestamp_seconds": history.START.timestamp(),
        "okr_key_result_period_end_timestamp_seconds": history.END.timestamp(),
        "okr_key_result_last_evaluation_timestamp_seconds": evaluated_between,
        "okr_key_result_expected_progress_ratio": expected_progress_now(),
    }
    assert numbers("on-track") == {
        "okr_key_result_value": 160.0,
        "okr_key_result_target": 200.0,
        "okr_key_result_baseline": 100.0,
        "okr_key_result_progress_ratio": 0.6,
        "okr_key_result_weight": 2.0,
        **period,
    }
    assert numbers("at-risk") == {
        "okr_key_result_value": 130.0,
        "okr_key_result_target": 200.0,
        "okr_key_result_baseline": 100.0,
        "okr_key_result_progress_ratio": 0.3,
        "okr_key_result_weight": 1.0,
        **period,
    }
    # No number came back, so there is no value, baseline or progress to export.
    assert numbers("failing") == {
        "okr_key_result_value": None,
        "okr_key_result_target": 1.0,
        "okr_key_result_baseline": None,
        "okr_key_result_progress_ratio": None,
        "okr_key_result_weight": 1.0,
        **period,
    }

    # The health state set: every health, exactly one of them 1.
    for name, current in (("on-track", "OnTrack"), ("at-risk", "AtRisk"), ("failing", "Unknown")):
        states = got.by_label("okr_key_result_health", "health", namespace=ns, key_result=name)
        assert states == {h: float(h == current) for h in HEALTHS}, name
    for name in ("company", "goal"):
        states = got.by_label("okr_objective_health", "health", namespace=ns, objective=name)
        assert states == {h: float(h == "OnTrack") for h in HEALTHS}, name
    assert (
        got.value("okr_objective_health", namespace=ns, objective="broken", health="Unknown") == 1
    )

    assert got.labelled("okr_key_result_info", namespace=ns) == [
        (
            {
                "namespace": ns, "objective": "broken", "key_result": "failing", "owner": "",
                "unit": "", "direction": "StayAbove",
                "commitment": "Committed", "carried_from_namespace": "", "carried_from": "",
            },
            1.0,
        ),
        (
            {
                "namespace": ns, "objective": "goal", "key_result": "at-risk", "owner": "",
                "unit": "", "direction": "Increase", "team": team,
                "commitment": "Committed", "carried_from_namespace": "", "carried_from": "",
            },
            1.0,
        ),
        (
            {
                "namespace": ns, "objective": "goal", "key_result": "on-track",
                "owner": "alice@example.com", "unit": "requests", "direction": "Increase",
                "team": team, "commitment": "Committed", "carried_from_namespace": "",
                "carried_from": "",
            },
            1.0,
        ),
    ]  # fmt: skip

    objective_period = {"okr_objective_expected_progress_ratio": expected_progress_now()}
    for name in ("company", "goal"):
        assert {f: got.value(f, namespace=ns, objective=name) for f in OBJECTIVE_NUMBERS} == {
            "okr_objective_progress_ratio": 0.5,
            **objective_period,
        }, name
    # The alignment edges: goal -> company, company and broken at the top.
    assert got.labelled("okr_objective_info", namespace=ns) == [
        (
            {
                "namespace": ns, "objective": "broken", "title": "Objective broken",
                "owner": "", "parent_namespace": "", "parent": "",
                "commitment": "Committed", "carried_from_namespace": "", "carried_from": "",
            },
            1.0,
        ),
        (
            {
                "namespace": ns, "objective": "company", "title": "Objective company",
                "owner": "ceo@example.com", "parent_namespace": "", "parent": "", "team": team,
                "commitment": "Committed", "carried_from_namespace": "", "carried_from": "",
            },
            1.0,
        ),
        (
            {
                "namespace": ns, "objective": "goal", "title": "Objective goal",
                "owner": "lead@example.com", "parent_namespace": ns, "parent": "company",
                "team": team, "commitment": "Committed", "carried_from_namespace": "",
                "carried_from": "",
            },
            1.0,
        ),
    ]  # fmt: skip

    # The operator's own families, by what this test's objects added to them.
    assert got.families["okr_evaluations"] == "counter"
    assert got.families["okr_evaluation_duration_seconds"] == "histogram"
    assert got.families["okr_query_errors"] == "counter"
    assert got.families["okr_status_writes"] == "counter"
    for result, at_least in (("success", 2), ("query_failed", 1)):
        grew = got.counter("okr_evaluations_total", result=result) - before.counter(
            "okr_evaluations_total", result=result
        )
        assert grew >= at_least, result
    errors = got.labelled("okr_query_errors_total", namespace=ns)
    assert [labels for labels, _ in errors] == [
        {"namespace": ns, "objective": "broken", "key_result": "failing", "reason": "query_failed"}
    ]
    assert errors[0][1] >= 1
    for kind, at_least in (("KeyResult", 3), ("Objective", 3)):
        grew = got.counter("okr_status_writes_total", kind=kind) - before.counter(
            "okr_status_writes_total", kind=kind
        )
        assert grew >= at_least, kind

    buckets = got.by_label("okr_evaluation_duration_seconds_bucket", "le")
    bounds = sorted(buckets, key=float)
    assert bounds[-1] == "+Inf"
    counts = [buckets[b] for b in bounds]
    assert counts == sorted(counts), "histogram buckets must be cumulative"
    count = got.value("okr_evaluation_duration_seconds_count")
    assert count == buckets["+Inf"]
    assert count is not None
    assert count - (before.value("okr_evaluation_duration_seconds_count") or 0) >= 3
    assert (got.value("okr_evaluation_duration_seconds_sum") or 0) > 0

    # Deleting key results drops every series about them, error counters included.
    delete_key_result(kube, ns, "at-risk")
    delete_key_result(kube, ns, "failing")

    def dropped() -> Exposition | None:
        now = scrape(operator)
        left = now.names_with(namespace=ns, key_result="at-risk") | now.names_with(
            namespace=ns, key_result="failing"
        )
        return None if left else now

    after = wait_for(
        "the deleted key results' series to go",
        dropped,
        timeout=EVALUATION_WAIT,
        diagnostics=lambda: metrics_of(operator, ns),
    )
    assert after.series("okr_query_errors_total", namespace=ns) == {}
    assert after.names_with(namespace=ns, key_result="on-track") == {
        *KR_NUMBERS, "okr_key_result_health", "okr_key_result_info",
        # Beyond the contract, also exported:
        "okr_key_result_value_timestamp_seconds", "okr_key_result_interval_seconds",
        "okr_key_result_at_risk_lag_ratio", "okr_key_result_off_track_lag_ratio",
        # From the backfilled history's trend (status.forecast):
        "okr_key_result_forecast_value", "okr_key_result_forecast_progress_ratio",
    }  # fmt: skip


# --------------------------------------------------------------------------- 2. Alertmanager


@pytest.fixture(scope="module")
def scraped(bench: Bench, operator: RunningOperator) -> Iterator[str]:
    """The bench Prometheus scrapes the operator and evaluates the fast rules."""
    with scraping_operator(bench, operator.metrics_url) as instance:
        yield instance


def prometheus_alerts(bench: Bench, ns: str) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = api_get(bench.prometheus_url, "/api/v1/alerts")["data"]["alerts"]
    return [a for a in alerts if a["labels"].get("namespace") == ns]


def notified(hook: WebhookReceiver, ns: str, alertname: str, status: str) -> dict[str, Any] | None:
    """The first notification carrying ``alertname`` of ``ns`` in ``status``, with that alert."""
    for payload in hook.notifications():
        for alert in payload.get("alerts", []):
            labels = alert.get("labels", {})
            if (labels.get("alertname"), labels.get("namespace"), alert.get("status")) == (
                alertname,
                ns,
                status,
            ):
                return {"payload": payload, "alert": alert}
    return None


def test_off_track_alert_reaches_the_team_and_resolves(
    bench: Bench, scraped: str, kube: Kube, ns: str, operator: RunningOperator
) -> None:
    team = unique_team()
    receiver = f"{team}-webhook"
    owner = "alice@example.com"
    kube.create(labelled(objective(ns, "goal", owner="lead@example.com"), team=team))
    kube.create(
        labelled(
            key_result(
                ns, "kr", series("ontrack"), 200, baseline=100, owner=owner, unit="requests"
            ),
            team=team,
        )
    )
    log = operator.log_tail()
    kube.wait_status("KeyResult", ns, "kr", health_is("OnTrack"), what="OnTrack", log=log)

    with WebhookReceiver() as hook, routing_team_to(bench, team, receiver, hook.url):

        def diagnostics() -> str:
            return (
                f"Prometheus alerts of {ns}:\n"
                f"{json.dumps(prometheus_alerts(bench, ns), indent=1)}\n"
                f"webhook received:\n{json.dumps(hook.notifications(), indent=1)}\n"
                f"operator metrics of {ns}:\n{metrics_of(operator, ns)}"
            )

        on_track = f'okr_key_result_health{{namespace="{ns}", health="OnTrack"}} == 1'
        wait_for(
            "Prometheus to scrape the OnTrack key result",
            lambda: instant_query(bench.prometheus_url, on_track),
            timeout=ALERT_WAIT,
            diagnostics=diagnostics,
        )
        # Its backfilled history (100 for 50 days, 160 since a day ago) forecasts a miss,
        # so OKRKeyResultForecastMiss fires as soon as the rules have seen the scrape
        # (rule evaluation races this check); no alert about its health may fire.
        firing = {alert["labels"]["alertname"] for alert in prometheus_alerts(bench, ns)}
        assert firing <= {"OKRKeyResultForecastMiss"}, "nothing else fires while it is on track"

        # 160 of 100 -> 900 is 7.5 % progress at half time: off track.
        kube.patch_spec("KeyResult", ns, "kr", {"target": 900})
        status = kube.wait_status("KeyResult", ns, "kr", health_is("OffTrack"), what="OffTrack")
        assert status["progress"] == 0.075
        fired = wait_for(
            f"OKRKeyResultOffTrack at receiver {receiver}",
            lambda: notified(hook, ns, "OKRKeyResultOffTrack", "firing"),
            timeout=ALERT_WAIT,
            diagnostics=diagnostics,
        )
        labels = {
            "alertname": "OKRKeyResultOffTrack",
            "severity": "critical",
            "namespace": ns,
            "objective": "goal",
            "key_result": "kr",
            "team": team,
            "owner": owner,
        }
        assert fired["payload"]["receiver"] == receiver
        assert fired["payload"]["status"] == "firing"
        assert fired["alert"]["labels"] == labels
        annotations = dict(fired["alert"]["annotations"])
        description = annotations.pop("description")
        assert annotations == {
            "summary": f"Key result {ns}/kr is off track",
            "dashboard_url": (
                "https://grafana.example.com/d/okr-key-result/okr-key-result-detail"
                f"?var-namespace={ns}&var-objective=goal&var-key_result=kr"
            ),
            "runbook_url": (
                "https://github.com/okr-operator/okr-operator/blob/main/docs/runbooks.md"
                "#okrkeyresultofftrack"
            ),
        }
        # Expected progress is 50 % plus the minutes since history.ANCHOR (at most an
        # hour of a 100-day period): 50 % to 50.04 %, printed with 4 significant digits.
        expected = r"50(\.0[0-4]?)?%"
        assert re.fullmatch(
            rf"Key result kr of objective {ns}/goal is off track: progress 7\.5% where "
            rf"{expected} was expected by now\. Value 160 requests, baseline 100 requests, "
            rf"target 900 requests\. Owner: {re.escape(owner)}\.",
            description,
        ), description

        kube.patch_spec("KeyResult", ns, "kr", {"target": 200})
        kube.wait_status("KeyResult", ns, "kr", health_is("OnTrack"), what="OnTrack again")
        resolved = wait_for(
            f"OKRKeyResultOffTrack resolved at receiver {receiver}",
            lambda: notified(hook, ns, "OKRKeyResultOffTrack", "resolved"),
            timeout=ALERT_WAIT,
            diagnostics=diagnostics,
        )
        assert resolved["payload"]["receiver"] == receiver
        assert resolved["payload"]["status"] == "resolved"
        assert resolved["alert"]["labels"] == labels
        # Nothing else of ns fired: AtRisk counts OffTrack too, and the objective's only
        # key result being off track takes the objective off track. Back on track, its
        # backfilled history (100 for 50 days, 160 now) still forecasts a miss.
        names = {
            alert["labels"]["alertname"]
            for payload in hook.notifications()
            for alert in payload["alerts"]
            if alert["labels"].get("namespace") == ns
        }
        assert names <= {
            "OKRKeyResultOffTrack",
            "OKRKeyResultAtRisk",
            "OKRObjectiveOffTrack",
            "OKRKeyResultForecastMiss",
        }


# --------------------------------------------------------------------------- 3. dashboards


def test_every_dashboard_panel_returns_data(
    bench: Bench, scraped: str, kube: Kube, ns: str, operator: RunningOperator
) -> None:
    team = unique_team()
    kube.create(labelled(objective(ns, "company", owner="ceo@example.com"), team=team))
    kube.create(
        labelled(
            objective(ns, "goal", owner="lead@example.com", parentRef={"name": "company"}),
            team=team,
        )
    )
    kube.create(
        labelled(
            key_result(ns, "on-track", series("ontrack"), 200, baseline=100, owner="alice",
                       unit="requests"),
            team=team,
        )
    )  # fmt: skip
    # "Key results behind plan" lists AtRisk and OffTrack ones: give it one.
    kube.create(
        labelled(
            key_result(ns, "off-track", series("offtrack"), 200, baseline=100, owner="bob"),
            team=team,
        )
    )
    log = operator.log_tail()
    for name, health in (("on-track", "OnTrack"), ("off-track", "OffTrack")):
        kube.wait_status("KeyResult", ns, name, health_is(health), what=health, log=log)
    kube.wait_status("Objective", ns, "company", evaluated, what="a health", log=log)

    variables = {
        "okr-key-result": {"namespace": ns, "objective": "goal", "key_result": "on-track"},
        # Grafana expands a multi-value variable inside =~ as a regex alternation.
        "okr-overview": {"namespace": ns, "team": team, "objective": "(company|goal)"},
    }
    queries = []
    for path in dashboard_paths():
        dashboard = load_dashboard(path)
        uid = dashboard["uid"]
        queries += [(uid, title, expr) for title, expr in panel_queries(dashboard, variables[uid])]
    assert {uid for uid, _, _ in queries} == set(variables)

    def empty() -> list[tuple[str, str, str]]:
        return [q for q in queries if not instant_query(bench.prometheus_url, q[2])]

    # rate() needs two scrapes inside its window that saw evaluations, so this polls.
    missing: list[tuple[str, str, str]] = []

    def all_answer() -> bool:
        missing[:] = empty()
        return not missing

    wait_for(
        "every panel query to return data",
        all_answer,
        timeout=ALERT_WAIT,
        interval=2.0,
        diagnostics=lambda: (
            "panels without data:\n"
            + "\n".join(f"- {uid} / {title!r}: {expr}" for uid, title, expr in missing)
            + f"\noperator metrics of {ns}:\n{metrics_of(operator, ns)}"
        ),
    )
