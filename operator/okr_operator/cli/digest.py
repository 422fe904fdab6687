"""``okr digest``: the week's summary for Slack, Teams or Markdown, posted or printed."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from kubernetes.client.exceptions import ApiException
from kubernetes.config import ConfigException

from okr_operator.cli.common import Commands
from okr_operator.cli.report import add_scope
from okr_operator.domain.durations import parse_duration
from okr_operator.reporting import digest as digests
from okr_operator.reporting.cluster import read_snapshot
from okr_operator.reporting.view import build_report
from okr_operator.reporting.webhook import WebhookError, post, read_url


def register(commands: Commands) -> None:
    """Add ``okr digest`` to the subcommands."""
    digest = commands.add_parser(
        "digest",
        help="summarise the week (what moved, what is behind) for Slack, Teams or Markdown",
        description="What moved (health transitions, biggest progress changes) and what is at "
        "risk or off track, grouped by the okr.dev/team label, with links to the dashboards "
        "and the web view. Posts to a webhook whose URL is read from a file, or prints.",
    )
    add_scope(digest)
    digest.add_argument("--since", default="7d", help="how far back to look (default 7d)")
    digest.add_argument("--format", required=True, choices=("slack", "teams", "markdown"))
    target = digest.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--webhook-url-file", type=Path, metavar="PATH", help="post to the URL in this file"
    )
    target.add_argument("--print", action="store_true", help="print the message instead")
    digest.add_argument(
        "--grafana-url",
        default=os.environ.get("OKR_GRAFANA_URL") or None,
        help="Grafana base URL for dashboard links (env OKR_GRAFANA_URL)",
    )
    digest.add_argument(
        "--web-url",
        default=os.environ.get("OKR_WEB_URL") or None,
        help="base URL of the web view for object links (env OKR_WEB_URL)",
    )
    digest.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Build the digest, then post or print it; 1 with a message on any failure."""
    try:
        since = parse_duration(args.since)
        url = read_url(args.webhook_url_file) if args.webhook_url_file else None
        snapshot = read_snapshot(None if args.all_namespaces else args.namespace)
        report = build_report(snapshot, now=datetime.now(UTC), since=since)
        digest = digests.build_digest(
            report, links=digests.Links(grafana=args.grafana_url, web=args.web_url)
        )
        if args.format == "markdown":
            text = digests.render_markdown(digest)
            body = {"text": text}
        else:
            render = digests.render_slack if args.format == "slack" else digests.render_teams
            body = render(digest)
            text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
        if url is None:
            sys.stdout.write(text)
        else:
            post(url, body)
    except (ValueError, WebhookError, ConfigException) as err:
        print(f"okr digest: {err}", file=sys.stderr)
        return 1
    except ApiException as err:
        print(f"okr digest: the API server answered {err.status} {err.reason}", file=sys.stderr)
        return 1
    return 0
