"""examples/alertmanager/: amtool accepts the configuration and routes by team.

``amtool`` is a tool, not a server (Debian's prometheus-alertmanager package), so
these are unit tests. A missing amtool fails them: an unchecked config must not pass.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "alertmanager" / "alertmanager.yaml"
MSTEAMS = ROOT / "examples" / "alertmanager" / "prometheus-msteams.yaml"


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("amtool")
    if exe is None:
        pytest.fail("amtool is not on PATH: install Debian's prometheus-alertmanager package")
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )


def config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return loaded


def test_amtool_check_config_accepts_the_example() -> None:
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, f"amtool check-config failed:\n{result.stdout}{result.stderr}"
    assert "SUCCESS" in result.stdout, result.stdout
    assert " - 6 receivers" in result.stdout, result.stdout
    assert " - 1 inhibit rules" in result.stdout, result.stdout


ROUTES = [
    pytest.param(
        {"alertname": "OKRKeyResultOffTrack", "team": "payments", "severity": "critical"},
        "payments-slack",
        id="a payments key result off track goes to the payments Slack channel",
    ),
    pytest.param(
        {"alertname": "OKRKeyResultAtRisk", "team": "ml-platform", "severity": "warning"},
        "ml-platform-slack",
        id="an ml-platform key result at risk goes to the ml-platform Slack channel",
    ),
    pytest.param(
        {"alertname": "OKRKeyResultNoData", "team": "platform", "severity": "warning"},
        "platform-teams",
        id="a platform key result without data goes to the platform Teams channel",
    ),
    pytest.param(
        {"alertname": "OKRObjectiveOffTrack", "team": "reliability", "severity": "critical"},
        "reliability-teams",
        id="a reliability objective off track goes to the reliability Teams channel",
    ),
    pytest.param(
        {"alertname": "OKRKeyResultAtRisk", "severity": "warning"},
        "default",
        id="a key result without an okr.dev/team label goes to the default receiver",
    ),
    pytest.param(
        {"alertname": "OKRKeyResultAtRisk", "team": "marketing", "severity": "warning"},
        "default",
        id="a team without a route of its own goes to the default receiver",
    ),
    pytest.param(
        {"alertname": "OKRKeyResultCheckInDue", "team": "payments", "severity": "info"},
        "payments-slack",
        id="a check-in nudge goes to the team's own channel like the other alerts",
    ),
    pytest.param(
        {"alertname": "OKROperatorDown", "team": "payments", "severity": "critical"},
        "okr-operator-admins",
        id="the operator being down goes to its admins whatever the team label",
    ),
]


@pytest.mark.parametrize(("labels", "receiver"), ROUTES)
def test_amtool_routes_the_labels_to_the_receiver(labels: dict[str, str], receiver: str) -> None:
    args = [f"{name}={value}" for name, value in labels.items()]
    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", *args)
    assert result.returncode == 0, f"amtool routes test failed:\n{result.stdout}{result.stderr}"
    assert result.stdout.strip() == receiver


def test_amtool_verifies_the_expected_receiver_and_rejects_another() -> None:
    labels = ["team=payments", "severity=critical"]
    good = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        "--verify.receivers=payments-slack",
        *labels,
    )
    bad = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        "--verify.receivers=default",
        *labels,
    )
    assert (good.returncode, bad.returncode) == (0, 1), (good.stdout, bad.stdout)


def test_every_team_route_repeats_critical_twice_a_day_warnings_every_other_day_nudges_weekly() -> (
    None
):
    team_routes = [r for r in config()["route"]["routes"] if r["matchers"][0].startswith("team=")]
    assert [r["receiver"] for r in team_routes] == [
        "payments-slack",
        "ml-platform-slack",
        "platform-teams",
        "reliability-teams",
    ]
    for route in team_routes:
        intervals = {r["matchers"][0]: r["repeat_interval"] for r in route["routes"]}
        assert intervals == {
            'severity="critical"': "12h",
            'severity="warning"': "48h",
            'severity="info"': "168h",
        }, route


def test_check_in_nudges_go_out_weekly_and_only_in_working_hours() -> None:
    team_routes = [r for r in config()["route"]["routes"] if r["matchers"][0].startswith("team=")]
    for route in team_routes:
        (nudge,) = [r for r in route["routes"] if r["matchers"] == ['severity="info"']]
        assert (nudge["group_interval"], nudge["repeat_interval"]) == ("168h", "168h")
        assert nudge["active_time_intervals"] == ["working-hours"]
    (hours,) = config()["time_intervals"]
    assert hours["name"] == "working-hours"
    assert hours["time_intervals"][0]["weekdays"] == ["monday:friday"]


def test_off_track_inhibits_at_risk_of_the_same_key_result() -> None:
    assert config()["inhibit_rules"] == [
        {
            "source_matchers": ['alertname="OKRKeyResultOffTrack"'],
            "target_matchers": ['alertname="OKRKeyResultAtRisk"'],
            "equal": ["namespace", "objective", "key_result"],
        }
    ]


def test_no_secret_is_inline_slack_urls_come_from_files_and_teams_goes_through_the_bridge() -> None:
    receivers = {r["name"]: r for r in config()["receivers"]}
    for name, receiver in receivers.items():
        for slack in receiver.get("slack_configs", []):
            assert "api_url" not in slack, name
            assert slack["api_url_file"].startswith("/etc/alertmanager/secrets/"), name
        for webhook in receiver.get("webhook_configs", []):
            assert webhook["url"].startswith("http://prometheus-msteams.monitoring.svc:2000/"), name
    bridge_paths = {
        webhook["url"].rsplit("/", 1)[1]
        for receiver in receivers.values()
        for webhook in receiver.get("webhook_configs", [])
    }
    connectors = yaml.safe_load(MSTEAMS.read_text(encoding="utf-8"))["connectors"]
    assert {name for connector in connectors for name in connector} == bridge_paths
    for connector in connectors:
        for url in connector.values():
            assert url.startswith("https://example.webhook.office.com/"), url
