"""The web view's pages as pure functions of a snapshot: routes, filters, what they show."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import pytest

from okr_operator.domain.model import Health
from okr_operator.reporting.view import ObjectiveView, build_report
from okr_operator.reporting.web import Filters, filter_report, parse_filters, render_page

from .fixtures import NOW, SNAPSHOT

pytestmark = pytest.mark.unit
REPORT = build_report(SNAPSHOT, now=NOW)


def _key_result_links(html: str) -> list[str]:
    return sorted(set(re.findall(r'href="(/keyresults/[^"]+)"', html)))


def _kept(filters: Filters) -> list[str]:
    return sorted(
        f"{kr.namespace}/{kr.name}"
        for obj in _walk(filter_report(REPORT, filters).objectives)
        for kr in obj.key_results
    )


def _walk(objectives: Iterable[ObjectiveView]) -> Iterator[ObjectiveView]:
    for obj in objectives:
        yield obj
        yield from _walk(obj.children)


def test_the_map_links_every_key_result_to_its_page_and_has_the_form() -> None:
    page = render_page(SNAPSHOT, "/", {}, now=NOW)
    assert page.status == 200
    assert _key_result_links(page.html) == [
        "/keyresults/okr-company/availability",
        "/keyresults/team-sre/escalations",
        "/keyresults/team-sre/latency",
    ]
    assert '<form class="filters" method="get" action="/"' in page.html
    assert "Showing 3 of 3 key results in 2 of 2 objectives." in page.html
    # The map carries no charts: each key result's page does.
    assert "<svg" not in page.html


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ({}, ["okr-company/availability", "team-sre/escalations", "team-sre/latency"]),
        ({"namespace": "team-sre"}, ["team-sre/escalations", "team-sre/latency"]),
        ({"team": "leadership"}, ["okr-company/availability"]),
        # A key result without a team label is its objective's team.
        ({"team": "sre"}, ["team-sre/escalations", "team-sre/latency"]),
        ({"health": "AtRisk"}, ["team-sre/latency"]),
        ({"health": "Missed", "namespace": "team-sre"}, []),
        # An unknown health is no filter, never an error.
        (
            {"health": "Bogus"},
            ["okr-company/availability", "team-sre/escalations", "team-sre/latency"],
        ),
    ],
)
def test_filters_keep_exactly_what_matches(query: dict[str, str], kept: list[str]) -> None:
    assert _kept(parse_filters(query)) == kept


def test_a_filter_keeps_the_objectives_leading_to_what_matches_and_recounts() -> None:
    filtered = filter_report(REPORT, Filters(health=Health.AT_RISK))
    [root] = filtered.objectives
    assert (root.name, root.key_results, [c.name for c in root.children]) == (
        "reliable",
        (),
        ["incidents"],
    )
    assert (filtered.summary.objectives, filtered.summary.key_results) == (2, 1)
    assert filtered.summary.health["AtRisk"] == 1


def test_the_form_shows_the_chosen_filters_and_never_echoes_a_raw_value() -> None:
    page = render_page(
        SNAPSHOT, "/", {"namespace": "team-sre", "team": "<script>x</script>"}, now=NOW
    ).html
    assert '<option value="team-sre" selected>team-sre</option>' in page
    assert "<script>" not in page
    assert "Showing 0 of 3 key results" in page


def test_a_key_result_page_has_its_labelled_chart_conditions_and_history() -> None:
    page = render_page(SNAPSHOT, "/keyresults/team-sre/latency", {}, now=NOW)
    assert page.status == 200
    html = page.html
    assert 'role="img" aria-labelledby="chart-team-sre-latency-title' in html
    assert '<title id="chart-team-sre-latency-title">Trajectory of latency</title>' in html
    assert "P95 checkout latency from 800 ms to 300 ms" in html
    # Health in words with its symbol, never by colour alone.
    assert '<span aria-hidden="true">▲</span> At risk</span>' in html
    # History, newest first: 16, 12, 8 November.
    assert re.findall(r"<tr><th scope=\"row\">(\d+ Nov 2026)</th>", html) == [
        "16 Nov 2026",
        "12 Nov 2026",
        "8 Nov 2026",
    ]
    # The query is spec, not status: never shown.
    assert "p95" not in html.replace("P95", "")


def test_a_key_result_page_says_its_forecast_and_latest_check_in_in_words() -> None:
    html = render_page(SNAPSHOT, "/keyresults/team-sre/latency", {}, now=NOW).html
    facts = re.sub(r"<[^>]+>", " ", html.split('<dl class="facts">', 1)[1].split("</dl>", 1)[0])
    words = re.sub(r"\s+", " ", facts).strip()
    forecast = "Forecast 80%, misses 100% value 0.4 seconds at the period end, trend of 3 points"
    assert forecast in words
    assert (
        "Check-in confidence 60% 13 Nov 2026 by sre-lead@example.com "
        "“CDN rollout slipped a week” Blocked by: CDN contract | not signed edge team on call "
        "a new check-in is due"
    ) in words
    assert "Forecast(" not in html
    assert "CheckIn(" not in html


def test_a_key_result_page_shows_its_conditions_as_status_has_them() -> None:
    html = render_page(SNAPSHOT, "/keyresults/team-sre/escalations", {}, now=NOW).html
    assert "QueryFailed" in html
    assert "Prometheus answered 503" in html


def test_an_objective_page_is_the_map_of_its_subtree() -> None:
    page = render_page(SNAPSHOT, "/objectives/team-sre/incidents", {}, now=NOW)
    assert page.status == 200
    assert _key_result_links(page.html) == [
        "/keyresults/team-sre/escalations",
        "/keyresults/team-sre/latency",
    ]
    assert "Customers can rely on us" not in page.html


@pytest.mark.parametrize(
    "path", ["/keyresults/team-sre/nope", "/objectives/x/y", "/admin", "/keyresults/"]
)
def test_anything_else_is_a_404_naming_nothing_internal(path: str) -> None:
    page = render_page(SNAPSHOT, path, {}, now=NOW)
    assert page.status == 404
    assert "Not found" in page.html
