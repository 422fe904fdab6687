"""The alert rules: promtool checks and tests them, and they keep their contract.

``promtool`` is a tool, not a server, so these are unit tests; the machine has it
from Debian's ``prometheus`` package (hack/tools.sh apt). A missing promtool
fails the tests instead of skipping them: an unchecked rules file must not pass.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.dashboards import is_contract_metric, okr_metric_names

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "helm" / "okr-operator" / "files" / "okr-rules.yaml"
RULE_TESTS = ROOT / "tests" / "prometheus" / "okr-rules.test.yaml"
RUNBOOKS = ROOT / "docs" / "runbooks.md"

ALERTS = {
    "OKRKeyResultAtRisk": "warning",
    "OKRKeyResultOffTrack": "critical",
    "OKRKeyResultEvaluationFailing": "warning",
    "OKRKeyResultNoData": "warning",
    "OKRKeyResultCheckInDue": "info",
    "OKRKeyResultForecastMiss": "warning",
    "OKRCommittedKeyResultMissed": "warning",
    "OKRObjectiveOffTrack": "critical",
    "OKROperatorDown": "critical",
}
ANNOTATIONS = {"summary", "description", "dashboard_url", "runbook_url"}
# Strings the Helm chart replaces with values; changing them breaks the chart.
GRAFANA_PLACEHOLDER = "https://grafana.example.com"
RUNBOOK_BASE = "https://github.com/okr-operator/okr-operator/blob/main/docs/runbooks.md"
OPERATOR_SELECTOR = 'job="okr-operator"'


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail(
            "promtool is not on PATH: install Debian's prometheus package (hack/tools.sh apt)"
        )
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )


def alerting_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]


def rule_tests() -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
    return tests


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading (lower case, punctuation dropped)."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def test_promtool_check_rules_accepts_the_rules_file() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, f"promtool check rules failed:\n{result.stdout}{result.stderr}"
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout, result.stdout


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, f"promtool test rules failed:\n{result.stdout}{result.stderr}"
    assert "SUCCESS" in result.stdout, result.stdout


def test_the_rules_file_holds_exactly_the_listed_alerts_with_their_severities() -> None:
    assert {rule["alert"]: rule["labels"]["severity"] for rule in alerting_rules()} == ALERTS


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_every_alert_has_a_for_duration_and_the_four_annotations(alert: str) -> None:
    (rule,) = (rule for rule in alerting_rules() if rule["alert"] == alert)
    assert re.fullmatch(r"\d+[mhd]", rule["for"]), f"{alert}: for={rule.get('for')!r}"
    assert set(rule["annotations"]) == ANNOTATIONS, alert
    assert set(rule["labels"]) == {"severity"}, alert


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_runbook_url_points_at_the_alerts_section_in_docs_runbooks(alert: str) -> None:
    (rule,) = (rule for rule in alerting_rules() if rule["alert"] == alert)
    anchors = {
        github_anchor(line.lstrip("#"))
        for line in RUNBOOKS.read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    }
    assert rule["annotations"]["runbook_url"] == f"{RUNBOOK_BASE}#{alert.lower()}"
    assert alert.lower() in anchors, f"docs/runbooks.md has no '## {alert}' section"


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_dashboard_url_starts_with_the_placeholder_the_chart_replaces(alert: str) -> None:
    (rule,) = (rule for rule in alerting_rules() if rule["alert"] == alert)
    url = rule["annotations"]["dashboard_url"]
    assert url.startswith(f"{GRAFANA_PLACEHOLDER}/d/okr-"), url


def test_operator_down_selects_the_operator_job_with_the_string_the_chart_replaces() -> None:
    (rule,) = (rule for rule in alerting_rules() if rule["alert"] == "OKROperatorDown")
    assert rule["expr"].count(OPERATOR_SELECTOR) == 2, rule["expr"]
    others = [r["alert"] for r in alerting_rules() if OPERATOR_SELECTOR in r["expr"]]
    assert others == ["OKROperatorDown"]


def test_every_okr_metric_the_rules_use_is_in_the_metrics_contract() -> None:
    text = RULES.read_text(encoding="utf-8")
    used = okr_metric_names(text)
    assert used, "the rules use no okr_* metric at all"
    assert sorted(name for name in used if not is_contract_metric(name)) == []


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_promtool_tests_cover_firing_and_not_firing_for_every_alert(alert: str) -> None:
    cases = [
        case
        for test in rule_tests()
        for case in test.get("alert_rule_test", [])
        if case["alertname"] == alert
    ]
    firing = [case for case in cases if case.get("exp_alerts")]
    quiet = [case for case in cases if not case.get("exp_alerts")]
    assert firing, f"{alert}: no promtool case expects it to fire"
    assert quiet, f"{alert}: no promtool case expects it to stay quiet"
    for case in firing:
        for expected in case["exp_alerts"]:
            assert set(expected["exp_annotations"]) == ANNOTATIONS, (alert, case["eval_time"])
            assert expected["exp_labels"]["severity"] == ALERTS[alert]
