"""The web view (``okr run --web-port``) in a real browser, on the demo organisation.

An operator of this test's own evaluates examples/ against the demo history
and serves the web view; headless Chromium (Debian's ``chromium`` and
``chromium-driver``, installed by hack/tools.sh) driven by Selenium reads it.
One browser session: the alignment map lists every objective and key result,
the namespace, team and health filters (plain GET forms, no JavaScript) keep
exactly what matches, and a key result's page draws its labelled chart.
Screenshots of the map and of a key-result page are kept in ``tmp/artefacts/``
(``OKR_ARTEFACTS`` names another directory).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from prometheus_client.parser import text_string_to_metric_families
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.conftest import Kubectl
from tests.e2e.test_cli_demo import (  # noqa: F401 - demo_prometheus is a fixture
    EXAMPLES,
    NAMESPACES,
    OBJECTS,
    demo_prometheus,
)
from tests.support.processes import RunningProcess, free_port
from tests.support.runner import RunningOperator, start_operator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = Path(os.environ.get("OKR_ARTEFACTS") or ROOT / "tmp" / "artefacts")
TEAM_LABEL = "okr.dev/team"

KEY_RESULTS = [d for d in OBJECTS if d["kind"] == "KeyResult"]
OBJECTIVES = [d for d in OBJECTS if d["kind"] == "Objective"]


def _team(doc: dict[str, Any]) -> str | None:
    labels = doc["metadata"].get("labels") or {}
    return labels.get(TEAM_LABEL)


def _kr_team(kr: dict[str, Any]) -> str | None:
    """A key result's team: its own label, else its objective's (as the view model says)."""
    objective = next(
        o
        for o in OBJECTIVES
        if o["metadata"]["namespace"] == kr["metadata"]["namespace"]
        and o["metadata"]["name"] == kr["spec"]["objectiveRef"]["name"]
    )
    return _team(kr) or _team(objective)


def _path(kr: dict[str, Any]) -> str:
    return f"/keyresults/{kr['metadata']['namespace']}/{kr['metadata']['name']}"


@pytest.fixture(scope="module")
def web(
    kubectl: Kubectl,
    operator_kubeconfig: Path,
    demo_prometheus: RunningProcess,  # noqa: F811 - the fixture imported above
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningOperator, str]]:
    """examples/ evaluated by an operator serving the web view; (operator, base URL)."""
    kubectl("apply", "-f", str(EXAMPLES / "00-namespaces.yaml"))
    for namespace in NAMESPACES:
        kubectl("delete", "keyresults,objectives", "--all", "-n", namespace, "--wait=true")
    kubectl("apply", "-f", str(EXAMPLES))
    port = free_port()
    running = start_operator(
        kubeconfig=operator_kubeconfig,
        prometheus_url=demo_prometheus.url,
        workdir=tmp_path_factory.mktemp("web-operator"),
        namespaces=NAMESPACES,
        extra_args=["--web-port", str(port)],
    )
    try:
        _wait_for_rollups(running)
        yield running, f"http://127.0.0.1:{port}"
    finally:
        running.stop()


def _members(objective: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, name) of the objective's key results and child objectives."""
    name = objective["metadata"]["name"]
    return [("KeyResult", k["metadata"]["name"]) for k in KEY_RESULTS
            if k["spec"]["objectiveRef"]["name"] == name] + [
        ("Objective", o["metadata"]["name"]) for o in OBJECTIVES
        if (o["spec"].get("parentRef") or {}).get("name") == name
    ]  # fmt: skip


def _wait_for_rollups(running: RunningOperator) -> None:
    """Until every object is evaluated and each objective rolled up after each of its members.

    Following the alignment map, not only the key results: a company objective rolled
    up after its own key result but before its team objectives shows a transient
    progress (its only known member's) that the screenshot would keep.
    """
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        instants: dict[tuple[str, str], float] = {}
        for family in text_string_to_metric_families(running.metrics()):
            for sample in family.samples:
                if sample.name == "okr_key_result_last_evaluation_timestamp_seconds":
                    instants[("KeyResult", sample.labels["key_result"])] = sample.value
                elif sample.name == "okr_objective_last_evaluation_timestamp_seconds":
                    instants[("Objective", sample.labels["objective"])] = sample.value
        krs = [instants.get(("KeyResult", d["metadata"]["name"])) for d in KEY_RESULTS]
        objs = [instants.get(("Objective", d["metadata"]["name"])) for d in OBJECTIVES]
        if (
            all(krs)
            and all(objs)
            and all(
                instants[("Objective", o["metadata"]["name"])] >= instants[member]
                for o in OBJECTIVES
                for member in _members(o)
            )
        ):
            return
        time.sleep(0.5)
    raise AssertionError(f"the demo was not evaluated within 90 s:\n{running.log_tail()}")


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    chromium = shutil.which("chromium")
    driver_binary = shutil.which("chromedriver")
    if chromium is None or driver_binary is None:
        pytest.fail("needs Debian's chromium and chromium-driver: run hack/tools.sh apt")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.add_argument("--hide-scrollbars")
    # Scripts off: the view must work without JavaScript.
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_binary))
    try:
        yield driver
    finally:
        driver.quit()


def _shown_key_results(browser: WebDriver) -> dict[str, str]:
    """Path of each key result row on the map -> its health in words."""
    rows = browser.find_elements(By.CSS_SELECTOR, "table.key-results tbody tr")
    shown = {}
    for row in rows:
        link = row.find_element(By.CSS_SELECTOR, "th a")
        path = urlparse(link.get_attribute("href") or "").path
        shown[path] = row.find_element(By.CSS_SELECTOR, ".badge").text.strip()
    return shown


def _filter(browser: WebDriver, base: str, **choices: str) -> None:
    browser.get(base + "/")
    for name, value in choices.items():
        Select(browser.find_element(By.NAME, name)).select_by_value(value)
    _follow(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]"))


def _follow(browser: WebDriver, element: WebElement) -> None:
    """Click a link or submit button and wait until the next page replaced this one."""
    element.click()
    WebDriverWait(browser, 20).until(staleness_of(element))


def test_the_web_view_should_show_filter_and_chart_the_demo(
    web: tuple[RunningOperator, str],
    browser: WebDriver,
    demo_prometheus: RunningProcess,  # noqa: F811
) -> None:
    _, base = web
    ARTEFACTS.mkdir(parents=True, exist_ok=True)

    # The map: every objective and every key result, each health in words with a symbol.
    browser.get(base + "/")
    assert browser.title.startswith("OKR alignment map")
    glance = browser.find_element(By.CSS_SELECTOR, "table.glance").text
    for obj in OBJECTIVES:
        assert obj["spec"]["title"] in glance
    everything = _shown_key_results(browser)
    assert sorted(everything) == sorted(_path(kr) for kr in KEY_RESULTS)
    words = {"On track", "At risk", "Off track", "Achieved", "Missed", "Pending", "Unknown"}
    assert all(any(word in health for word in words) for health in everything.values())
    assert demo_prometheus.url not in browser.page_source
    browser.save_screenshot(str(ARTEFACTS / "web-map.png"))

    # Namespace: the key results of that namespace, nothing else.
    namespace = KEY_RESULTS[-1]["metadata"]["namespace"]
    _filter(browser, base, namespace=namespace)
    assert f"namespace={namespace}" in browser.current_url
    assert sorted(_shown_key_results(browser)) == sorted(
        _path(kr) for kr in KEY_RESULTS if kr["metadata"]["namespace"] == namespace
    )

    # Team (okr.dev/team, the key result's own or its objective's).
    team = _kr_team(KEY_RESULTS[0])
    assert team is not None
    _filter(browser, base, team=team)
    assert sorted(_shown_key_results(browser)) == sorted(
        _path(kr) for kr in KEY_RESULTS if _kr_team(kr) == team
    )

    # Health: the health the map showed for the first key result; every row shown has it.
    health_words = everything[_path(KEY_RESULTS[0])]
    option = next(
        o
        for o in Select(browser.find_element(By.NAME, "health")).options
        if o.text.strip().endswith(health_words.split(" ", 1)[1])
    )
    _filter(browser, base, health=option.get_attribute("value") or "")
    by_health = _shown_key_results(browser)
    assert by_health == {path: h for path, h in everything.items() if h == health_words}

    # A key result's page: its labelled trajectory chart, conditions and history.
    # Deployment lead time has a baseline, so its chart has the expected line too.
    kr = next(
        k for k in KEY_RESULTS if k["spec"].get("baseline") is not None and "query" in k["spec"]
    )
    browser.get(base + "/")
    _follow(browser, browser.find_element(By.CSS_SELECTOR, f'a[href="{_path(kr)}"]'))
    assert urlparse(browser.current_url).path == _path(kr)
    chart = browser.find_element(By.CSS_SELECTOR, "svg.chart[role=img]")
    title_id = (chart.get_attribute("aria-labelledby") or "").split()[0]
    title = chart.find_element(By.ID, title_id).get_attribute("textContent")
    assert title == f"Trajectory of {kr['metadata']['name']}"
    assert chart.find_elements(By.CSS_SELECTOR, "polyline, path"), "the chart draws no line"
    conditions = browser.find_element(By.CSS_SELECTOR, "table.conditions").text
    assert "Ready" in conditions
    assert kr["spec"]["query"] not in browser.page_source
    browser.save_screenshot(str(ARTEFACTS / "web-key-result.png"))

    # A key result with a check-in: its confidence, note and blockers in words, from
    # status.checkIn (the operator's snapshot), and no internal representation.
    check_in = max(
        (d for d in OBJECTS if d["kind"] == "CheckIn" and d["spec"].get("blockers")),
        key=lambda d: d["spec"]["time"],
    )
    checked = next(
        k
        for k in KEY_RESULTS
        if k["metadata"]["namespace"] == check_in["metadata"]["namespace"]
        and k["metadata"]["name"] == check_in["spec"]["keyResultRef"]["name"]
    )
    browser.get(base + _path(checked))
    facts = browser.find_element(By.CSS_SELECTOR, "dl.facts").text
    assert f"confidence {round(check_in['spec']['confidence'] * 100)}%" in facts
    assert check_in["spec"]["note"] in facts
    for blocker in check_in["spec"]["blockers"]:
        assert blocker in facts
    assert "CheckIn(" not in browser.page_source
    assert "Forecast(" not in browser.page_source
    browser.save_screenshot(str(ARTEFACTS / "web-key-result-check-in.png"))
