"""The weekly digest: what moved, what is behind, grouped by team, for Slack, Teams or Markdown.

Pure: a :class:`~okr_operator.reporting.view.Report` in, a message body out.
Slack gets Block Kit for an incoming webhook (at most 50 blocks, 3,000
characters a section text, 150 a header); Teams gets an Adaptive Card in the
envelope a Teams workflow webhook ("When a Teams webhook request is received")
expects, using only elements of the published Adaptive Card schema. Both link
to the Grafana dashboards and the web view when their base URLs are given.

Check-ins due and forecast misses (from the owners' check-ins and the
engine's forecasts) close every digest, "none" stated plainly when there are none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from okr_operator.domain.model import Health
from okr_operator.reporting.formats import (
    day,
    health_symbol,
    health_words,
    percent,
    signed_points,
)
from okr_operator.reporting.view import Blocked, Change, Item, Report, walk_objectives

NO_TEAM = "(no team label)"
MOVES_PER_TEAM = 5
# A description may be 4 KiB; a chat line should not be.
MAX_LINE = 300
SLACK_MAX_BLOCKS = 50
SLACK_MAX_TEXT = 3000
SLACK_MAX_HEADER = 150
ADAPTIVE_CARD_VERSION = "1.4"
ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


@dataclass(frozen=True, slots=True)
class Links:
    """Base URLs of the Grafana the dashboards are in and of the web view; None when unknown."""

    grafana: str | None = None
    web: str | None = None

    def item(
        self, kind: str, namespace: str, name: str, objective: str | None = None
    ) -> str | None:
        """The page that explains one object: the web view, else its Grafana dashboard."""
        if self.web:
            path = "keyresults" if kind == "KeyResult" else "objectives"
            return f"{self.web.rstrip('/')}/{path}/{quote(namespace)}/{quote(name)}"
        if self.grafana and kind == "KeyResult":
            query = {"var-namespace": namespace, "var-key_result": name}
            if objective:
                query["var-objective"] = objective
            return f"{self.grafana.rstrip('/')}/d/okr-key-result?{urlencode(query)}"
        return None

    def overview(self, team: str | None = None) -> str | None:
        """The Grafana OKR overview, filtered to a team when one is given."""
        if not self.grafana:
            return None
        query = f"?{urlencode({'var-team': team})}" if team and team != NO_TEAM else ""
        return f"{self.grafana.rstrip('/')}/d/okr-overview{query}"


@dataclass(frozen=True, slots=True)
class TeamDigest:
    """One team's part: what moved (biggest first), what is behind, what missed."""

    team: str
    moved: tuple[Change, ...]
    behind: tuple[Item, ...]
    missed: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """The digest's content, independent of the chat it goes to."""

    report: Report
    teams: tuple[TeamDigest, ...]
    links: Links
    objectives_of: dict[tuple[str, str], str]


def build_digest(report: Report, *, links: Links | None = None) -> Digest:
    """Group the review by team (``okr.dev/team``); teams with nothing to say are left out."""
    teams: dict[str, dict[str, list[Any]]] = {}

    def bucket(team: str | None) -> dict[str, list[Any]]:
        return teams.setdefault(team or NO_TEAM, {"moved": [], "behind": [], "missed": []})

    for change in report.review.changes:
        bucket(change.team)["moved"].append(change)
    for item in report.review.behind:
        bucket(item.team)["behind"].append(item)
    for item in report.review.missed:
        bucket(item.team)["missed"].append(item)
    # Health transitions are the news; among them, and then, the biggest progress moves.
    ordered = sorted(teams, key=lambda team: (team == NO_TEAM, team))
    objectives_of = {
        (kr.namespace, kr.name): kr.objective
        for obj in walk_objectives(report)
        for kr in obj.key_results
    }
    return Digest(
        report=report,
        teams=tuple(
            TeamDigest(
                team=team,
                moved=tuple(
                    sorted(
                        teams[team]["moved"],
                        key=lambda c: (not c.transitions, -abs(c.progress_change or 0.0)),
                    )
                ),
                behind=tuple(teams[team]["behind"]),
                missed=tuple(teams[team]["missed"]),
            )
            for team in ordered
        ),
        links=links or Links(),
        objectives_of=objectives_of,
    )


# --- words shared by every format ---------------------------------------------


def headline(digest: Digest) -> str:
    """``OKR digest: 25 Nov 2026 \u2013 2 Dec 2026``."""
    review = digest.report.review
    return f"OKR digest: {day(review.since)} \u2013 {day(digest.report.generated_at)}"


def counts_line(digest: Digest) -> str:
    """``8 key results: 5 on track, 1 at risk, 1 off track, 1 achieved``."""
    summary = digest.report.summary
    parts = [
        f"{count} {health_words(Health(name)).lower()}"
        for name, count in summary.health.items()
        if count
    ]
    return f"{summary.key_results} key results: " + (", ".join(parts) or "none")


def change_text(change: Change) -> str:
    """``P95 checkout latency: On track → At risk, 45% → 40% (\u22125 pts)``."""
    moves = ", ".join(f"{health_words(t.before)} → {health_words(t.after)}"
                      for t in change.transitions)  # fmt: skip
    progress = (
        f"{percent(change.progress_before)} → {percent(change.progress)} "
        f"({signed_points(change.progress_change)})"
    )
    return f"{_clip(change.label)}: " + (f"{moves}, {progress}" if moves else progress)


def item_text(item: Item) -> str:
    """``■ Off track: Pages escalated … (sre-lead@…), 12% against 68% expected``."""
    owner = f" ({item.owner})" if item.owner else ""
    return (
        f"{health_symbol(item.health)} {health_words(item.health)}: {_clip(item.label)}{owner}, "
        f"{percent(item.score)} against {percent(item.expected_progress)} expected"
    )


NAMED_PER_SECTION = 10  # keeps a section well inside Slack's 3,000 characters


def _names(items: Sequence[Item]) -> str:
    if not items:
        return "none."
    named = [
        f"{_clip(i.label)} ({i.owner})" if i.owner else _clip(i.label)
        for i in items[:NAMED_PER_SECTION]
    ]
    more = len(items) - NAMED_PER_SECTION
    return "; ".join(named) + (f"; and {more} more." if more > 0 else ".")


def _blocked(entries: Sequence[Blocked]) -> str:
    if not entries:
        return "none."
    named = [
        _clip(f"{b.item.label}" + (f" ({b.item.owner})" if b.item.owner else "")
              + ": " + "; ".join(b.blockers))
        for b in entries[:NAMED_PER_SECTION]
    ]  # fmt: skip
    more = len(entries) - NAMED_PER_SECTION
    return " | ".join(named) + (f" | and {more} more." if more > 0 else ".")


def quiet_sections(digest: Digest) -> list[str]:
    """Which check-ins are due, which key results are forecast to miss, what blocks them.

    Each is clipped to Slack's limit for one text (an element of a context block).
    """
    review = digest.report.review
    return [
        _clip(text, SLACK_MAX_TEXT)
        for text in (
            f"Check-ins due: {_names(review.check_ins_due)}",
            f"Forecast misses: {_names(review.forecast_misses)}",
            f"Blockers named in check-ins: {_blocked(review.blockers)}",
        )
    ]


# --- Markdown --------------------------------------------------------------------


def render_markdown(digest: Digest) -> str:
    """The digest as Markdown (for chat tools that take it, email, or a terminal)."""
    lines = [f"# {headline(digest)}", "", counts_line(digest), ""]
    if not digest.teams:
        lines += ["Nothing moved and nothing is behind plan.", ""]
    for team in digest.teams:
        title = f"## Team {team.team}" if team.team != NO_TEAM else f"## {NO_TEAM}"
        lines += [title, ""]
        for change in team.moved[:MOVES_PER_TEAM]:
            lines.append(f"- Moved: {_md_link(change_text(change), digest, change)}")
        if len(team.moved) > MOVES_PER_TEAM:
            lines.append(f"- … and {len(team.moved) - MOVES_PER_TEAM} smaller moves")
        lines += [f"- {item_text(item)}" for item in (*team.missed, *team.behind)]
        overview = digest.links.overview(team.team)
        if overview:
            lines.append(f"- [Dashboard]({overview})")
        lines.append("")
    lines += [f"_{text}_" for text in quiet_sections(digest)]
    if digest.links.web:
        lines += ["", f"[Open the OKR map]({digest.links.web})"]
    return "\n".join(lines) + "\n"


def _md_link(text: str, digest: Digest, change: Change) -> str:
    url = _url(digest, change.kind, change.namespace, change.name)
    return f"[{text}]({url})" if url else text


def _url(digest: Digest, kind: str, namespace: str, name: str) -> str | None:
    objective = digest.objectives_of.get((namespace, name))
    return digest.links.item(kind, namespace, name, objective)


# --- Slack Block Kit -----------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    """Escape what Slack's mrkdwn reads as markup (``&``, ``<``, ``>``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(text: str, url: str | None) -> str:
    safe = _mrkdwn(text).replace("|", "\u2223")
    return f"<{url}|{safe}>" if url else safe


def _clip(text: str, limit: int = MAX_LINE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _fit(lines: Sequence[str], limit: int = SLACK_MAX_TEXT) -> str:
    """Join lines, dropping the last ones (and saying how many) to stay within ``limit``."""
    text = ""
    for index, line in enumerate(lines):
        candidate = f"{text}\n{line}" if text else line
        if len(candidate) > limit - 30:  # room for the "and N more" line
            return f"{text}\n\u2026 and {len(lines) - index} more"
        text = candidate
    return text


def render_slack(digest: Digest) -> dict[str, Any]:
    """A Block Kit message for a Slack incoming webhook, within Slack's limits."""
    header = {"type": "plain_text", "text": headline(digest)[:SLACK_MAX_HEADER]}
    counts = {"type": "mrkdwn", "text": _mrkdwn(counts_line(digest))}
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": header},
        {"type": "context", "elements": [counts]},
    ]
    team_blocks: list[list[dict[str, Any]]] = []
    for team in digest.teams:
        lines: list[str] = []
        for change in team.moved[:MOVES_PER_TEAM]:
            url = _url(digest, change.kind, change.namespace, change.name)
            lines.append("• Moved: " + _slack_link(change_text(change), url))
        if len(team.moved) > MOVES_PER_TEAM:
            lines.append(f"• … and {len(team.moved) - MOVES_PER_TEAM} smaller moves")
        for item in (*team.missed, *team.behind):
            url = _url(digest, item.kind, item.namespace, item.name)
            lines.append("• " + _slack_link(item_text(item), url))
        name = f"Team {team.team}" if team.team != NO_TEAM else NO_TEAM
        overview = digest.links.overview(team.team)
        heading = f"*{_slack_link(name, overview)}*"
        text = _fit([heading, *lines])
        section = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        team_blocks.append([{"type": "divider"}, section])
    footer: list[dict[str, Any]] = [
        {"type": "divider"},
        {"type": "context", "elements": [
            {"type": "mrkdwn", "text": _mrkdwn(text)} for text in quiet_sections(digest)
        ]},
    ]  # fmt: skip
    links = [(label, url) for label, url in (("Open the OKR map", digest.links.web),
                                             ("OKR overview in Grafana", digest.links.overview()))
             if url]  # fmt: skip
    if links:
        footer.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}
            for label, url in links
        ]})  # fmt: skip
    room = SLACK_MAX_BLOCKS - len(blocks) - len(footer) - 2  # keep two for "and N more teams"
    shown = 0
    for group in team_blocks:
        if len(group) > room:
            break
        blocks.extend(group)
        room -= len(group)
        shown += 1
    if not digest.teams:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                       "text": "Nothing moved and nothing is behind plan."}})  # fmt: skip
    if shown < len(team_blocks):
        more = f"… and {len(team_blocks) - shown} more teams: see the OKR map or the report."
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": more}})
    blocks.extend(footer)
    return {"text": f"{headline(digest)}. {counts_line(digest)}", "blocks": blocks}


# --- Microsoft Teams Adaptive Card -------------------------------------------------------


def render_teams(digest: Digest) -> dict[str, Any]:
    """An Adaptive Card in the envelope of a Teams workflow webhook."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": headline(digest), "size": "large", "weight": "bolder",
         "wrap": True},
        {"type": "TextBlock", "text": counts_line(digest), "isSubtle": True, "wrap": True},
    ]  # fmt: skip
    if not digest.teams:
        body.append({"type": "TextBlock", "text": "Nothing moved and nothing is behind plan.",
                     "wrap": True})  # fmt: skip
    for team in digest.teams:
        name = f"Team {team.team}" if team.team != NO_TEAM else NO_TEAM
        items: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": name, "weight": "bolder", "size": "medium", "wrap": True}
        ]
        for change in team.moved[:MOVES_PER_TEAM]:
            url = _url(digest, change.kind, change.namespace, change.name)
            text = change_text(change)
            items.append({"type": "TextBlock", "text": f"- Moved: [{text}]({url})" if url
                          else f"- Moved: {text}", "wrap": True})  # fmt: skip
        for item in (*team.missed, *team.behind):
            colour = "attention" if item.health in (Health.OFF_TRACK, Health.MISSED) else "warning"
            items.append({"type": "TextBlock", "text": f"- {item_text(item)}", "wrap": True,
                          "color": colour})  # fmt: skip
        body.append({"type": "Container", "items": items})
    body.extend({"type": "TextBlock", "text": text, "isSubtle": True, "wrap": True}
                for text in quiet_sections(digest))  # fmt: skip
    actions = [
        {"type": "Action.OpenUrl", "title": label, "url": url}
        for label, url in (("Open the OKR map", digest.links.web),
                           ("OKR overview in Grafana", digest.links.overview()))
        if url
    ]  # fmt: skip
    card: dict[str, Any] = {
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }
