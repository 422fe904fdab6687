"""The digest as pure code: Markdown in full, Slack within Block Kit's limits, Teams by schema."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from okr_operator.domain.model import CheckIn, Health, KeyResultStatus, Ref
from okr_operator.domain.snapshot import KeyResultSnapshot, ObjectiveSnapshot, Snapshot
from okr_operator.reporting.digest import (
    SLACK_MAX_BLOCKS,
    SLACK_MAX_HEADER,
    SLACK_MAX_TEXT,
    Links,
    build_digest,
    render_markdown,
    render_slack,
    render_teams,
)
from okr_operator.reporting.view import build_report
from tests.conftest import bench_required

from .fixtures import INCIDENTS, LATENCY, NOW, SNAPSHOT, labels, utc

pytestmark = pytest.mark.unit
LINKS = Links(grafana="https://grafana.example.com", web="https://okr.example.com")
CACHE = Path(os.environ.get("OKR_CACHE_DIR", Path.home() / ".cache" / "okr-operator"))
SCHEMA = CACHE / "schemas" / "adaptive-card-designer-2.4.4.json"


def _digest(snapshot: Snapshot = SNAPSHOT, links: Links = LINKS) -> Any:
    return build_digest(build_report(snapshot, now=NOW), links=links)


def test_the_markdown_digest_of_a_small_organisation() -> None:
    assert (
        render_markdown(_digest())
        == """\
# OKR digest: 9 Nov 2026 \u2013 16 Nov 2026

3 key results: 1 on track, 1 at risk, 1 missed

## Team leadership

- Moved: [99.9 % of checkouts succeed in October: Off track → Missed, 0% → 0% (±0 pts)](https://okr.example.com/keyresults/okr-company/availability)
- ✖ Missed: 99.9 % of checkouts succeed in October (cto@example.com), 0% against 100% expected
- [Dashboard](https://grafana.example.com/d/okr-overview?var-team=leadership)

## Team sre

- Moved: [P95 checkout latency from 800 ms to 300 ms: On track → At risk, 45% → 40% (\u22125 pts)](https://okr.example.com/keyresults/team-sre/latency)
- ▲ At risk: P95 checkout latency from 800 ms to 300 ms (sre-lead@example.com), \
40% against 50% expected
- [Dashboard](https://grafana.example.com/d/okr-overview?var-team=sre)

_Check-ins due: P95 checkout latency from 800 ms to 300 ms (sre-lead@example.com)._
_Forecast misses: P95 checkout latency from 800 ms to 300 ms (sre-lead@example.com)._
_Blockers named in check-ins: P95 checkout latency from 800 ms to 300 ms (sre-lead@example.com): \
CDN contract | not signed; edge team on call._

[Open the OKR map](https://okr.example.com)
"""
    )


def test_without_a_web_view_key_results_link_to_their_grafana_dashboard() -> None:
    text = render_markdown(_digest(links=Links(grafana="https://g.example.com/")))
    assert ("(https://g.example.com/d/okr-key-result?var-namespace=team-sre"
            "&var-key_result=latency&var-objective=incidents)") in text  # fmt: skip
    assert "Open the OKR map" not in text
    assert "](" not in render_markdown(_digest(links=Links())).split("## Team sre")[1]


def _crowd(teams: int, per_team: int) -> Snapshot:
    """Many teams with many moving key results and labels long enough to hit the limits."""
    krs, objectives = [], []
    for t in range(teams):
        team = f"team-{t:02d}"
        obj = replace(INCIDENTS, ref=Ref(team, "o"), parent=None, labels=labels(team))
        objectives.append(ObjectiveSnapshot(obj.ref, obj, SNAPSHOT.objectives[0].status))
        for k in range(per_team):
            long = f"Key result {k} of {team} " + "with a long name " * 30
            kr = replace(LATENCY, ref=Ref(team, f"kr-{k}"), objective="o", description=long)
            status = KeyResultStatus(
                progress=0.1, expected_progress=0.5, health=Health.OFF_TRACK,
                history=(CheckIn(utc(11, 1), 0.4, Health.ON_TRACK, 0.6),),
            )  # fmt: skip
            krs.append(KeyResultSnapshot(kr.ref, kr, SNAPSHOT.key_results[0].period, status))
    return Snapshot(key_results=tuple(krs), objectives=tuple(objectives))


def _texts(block: dict[str, Any]) -> list[str]:
    found = [block["text"]["text"]] if isinstance(block.get("text"), dict) else []
    return found + [e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str)]


@pytest.mark.parametrize(("teams", "per_team"), [(0, 0), (2, 1), (3, 40), (60, 3)])
def test_slack_stays_within_block_kits_limits(teams: int, per_team: int) -> None:
    digest = _digest(_crowd(teams, per_team))
    message = render_slack(digest)
    blocks = message["blocks"]
    assert len(blocks) <= SLACK_MAX_BLOCKS
    assert blocks[0]["type"] == "header"
    assert len(blocks[0]["text"]["text"]) <= SLACK_MAX_HEADER
    for block in blocks:
        for text in _texts(block):
            assert 0 < len(text) <= SLACK_MAX_TEXT
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    shown = [s for s in sections if s.startswith("*")]
    if teams * per_team == 0:
        assert sections == ["Nothing moved and nothing is behind plan."]
    elif len(shown) < teams:  # the rest is counted, not silently dropped
        assert sections[-1].startswith(f"… and {teams - len(shown)} more teams")
    if per_team == 40:  # a long team section is cut and says by how much
        assert "… and " in shown[0]
    assert message["text"].startswith("OKR digest: ")


def test_slack_escapes_mrkdwn_and_links_objects() -> None:
    hostile = replace(LATENCY, description="<!channel> & <https://evil.example|click>")
    snapshot = replace(SNAPSHOT, key_results=(
        replace(SNAPSHOT.key_results[0], spec=hostile), *SNAPSHOT.key_results[1:],
    ))  # fmt: skip
    text = "\n".join(
        t for block in render_slack(_digest(snapshot))["blocks"] for t in _texts(block)
    )
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example\u2223click&gt;" in text
    assert "<https://okr.example.com/keyresults/team-sre/latency|" in text


def _schema() -> dict[str, Any]:
    if not SCHEMA.exists():
        reason = f"{SCHEMA} is absent: hack/tools.sh schemas fetches it"
        if bench_required():
            pytest.fail(reason)
        pytest.skip(reason)
    return dict(json.loads(SCHEMA.read_text()))


@pytest.mark.parametrize("snapshot", [SNAPSHOT, Snapshot(), _crowd(4, 3)])
def test_teams_is_an_adaptive_card_by_its_json_schema(snapshot: Snapshot) -> None:
    message = render_teams(_digest(snapshot))
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    jsonschema.Draft6Validator(_schema()).validate(card)
    assert card["version"] == "1.4"
    assert len(json.dumps(message).encode()) < 28_000  # Teams refuses bigger messages


def test_the_schema_catches_a_broken_card() -> None:
    card = render_teams(_digest())["attachments"][0]["content"]
    card["body"][0]["size"] = "enormous"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft6Validator(_schema()).validate(card)


def test_since_narrows_what_moved() -> None:
    day = build_digest(build_report(SNAPSHOT, now=NOW, since=timedelta(days=1)))
    latency = next(c for t in day.teams for c in t.moved if c.name == "latency")
    # The OnTrack → AtRisk of 12 Nov is older than a day; only the drift since remains.
    assert (latency.transitions, latency.progress_before, latency.progress_change) == (
        (), 0.42, -0.02,
    )  # fmt: skip
