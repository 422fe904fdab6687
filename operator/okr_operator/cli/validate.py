"""``okr validate``: check manifests with the operator's own rules (for CI on pull requests)."""

from __future__ import annotations

import argparse
import sys

from okr_operator.cli.common import Commands
from okr_operator.cli.findings import Severity, check, render_github, render_json, render_text
from okr_operator.cli.manifests import load
from okr_operator.domain.model import QueryLanguage


def register(commands: Commands) -> None:
    """Add ``okr validate`` to the subcommands."""
    validate = commands.add_parser(
        "validate",
        help="check OKR manifests the way the operator will (for CI on pull requests)",
        description="Check OKR manifests with the operator's own rules, file and line in every "
        "message. References (objectiveRef, parentRef, sourceRef) are resolved among the files "
        "given: ones that point elsewhere are notes (external), parentRef cycles are errors. "
        "Warnings (a percentage target on a 0-1 ratio query, an interval far too short for "
        "the query's range, weight 0, duplicates, a period outside the objective's) fail only "
        "with --strict. Exit status 1 on any error.",
    )
    validate.add_argument(
        "files", nargs="+", metavar="PATH", help="YAML file, directory (its *.yaml, *.yml) or -"
    )
    validate.add_argument(
        "-R", "--recursive", action="store_true", help="read directories' subdirectories too"
    )
    validate.add_argument(
        "-o",
        "--output",
        choices=("text", "json", "github"),
        default="text",
        help="text (default), json, or github: GitHub Actions annotations on the object's line",
    )
    validate.add_argument("--strict", action="store_true", help="warnings fail too")
    validate.add_argument(
        "--query-language",
        type=QueryLanguage,
        default=QueryLanguage.PROMQL,
        choices=list(QueryLanguage),
        help="language of the operator's default source (okr run --query-language): "
        "PromQL (default) or MetricsQL",
    )
    validate.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Check every file; 1 when any has an error (or, with --strict, a warning)."""
    loaded = load(args.files, recursive=args.recursive)
    findings = check(loaded, default_language=args.query_language)
    if args.output == "json":
        sys.stdout.write(render_json(loaded.files, findings))
    elif args.output == "github":
        sys.stdout.write(render_github(len(loaded.files), findings))
    else:
        sys.stdout.write(render_text(len(loaded.files), findings))
    failing = {Severity.ERROR, Severity.WARNING} if args.strict else {Severity.ERROR}
    return 1 if any(f.severity in failing for f in findings) else 0
