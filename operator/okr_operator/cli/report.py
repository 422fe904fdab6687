"""``okr report``: the period scorecard of the objectives and key results in the cluster."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from kubernetes.client.exceptions import ApiException
from kubernetes.config import ConfigException

from okr_operator.cli.common import Commands
from okr_operator.domain.durations import parse_duration
from okr_operator.reporting.cluster import read_snapshot
from okr_operator.reporting.pdf import PdfError
from okr_operator.reporting.scorecard import FORMATS, scorecard


def add_scope(parser: argparse.ArgumentParser) -> None:
    """``-A`` or ``-n NS``: the flags report and digest share."""
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    scope.add_argument("-n", "--namespace", metavar="NS", help="one namespace")


def scope_text(args: argparse.Namespace) -> str:
    """``all namespaces`` or ``namespace team-ml``."""
    return "all namespaces" if args.all_namespaces else f"namespace {args.namespace}"


def register(commands: Commands) -> None:
    """Add ``okr report`` to the subcommands."""
    report = commands.add_parser(
        "report",
        help="write the period scorecard (html, md, pdf, csv, json) from the cluster",
        description="Read the Objectives and KeyResults (kubeconfig) and write the scorecard: "
        "objectives down to key results with score, expected progress, health and trajectory "
        "charts, and a review of what missed, what is behind and what changed.",
    )
    add_scope(report)
    report.add_argument("--period", metavar="YEAR-Qn", help="only objectives of this quarter")
    report.add_argument("--format", choices=FORMATS, default="html", help="default html")
    report.add_argument("-o", "--output", type=Path, help="file to write (default stdout)")
    report.add_argument(
        "--prometheus", metavar="URL", help="draw trajectories from range queries at this URL"
    )
    report.add_argument(
        "--since", default="7d", help="how far back 'what changed' looks (default 7d)"
    )
    report.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Write the scorecard; 1 with a message on any failure."""
    try:
        since = parse_duration(args.since)
        snapshot = read_snapshot(None if args.all_namespaces else args.namespace)
        body, warnings = scorecard(
            snapshot,
            fmt=args.format,
            now=datetime.now(UTC),
            scope=scope_text(args),
            period=args.period,
            since=since,
            prometheus=args.prometheus,
        )
    except (ValueError, PdfError, ConfigException) as err:
        print(f"okr report: {err}", file=sys.stderr)
        return 1
    except ApiException as err:
        print(f"okr report: the API server answered {err.status} {err.reason}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"okr report: {warning}", file=sys.stderr)
    if args.output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        args.output.write_bytes(body)
    return 0
