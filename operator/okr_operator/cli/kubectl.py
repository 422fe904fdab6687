"""``kubectl okr tree`` and ``kubectl okr get``: the alignment map and the table, from a cluster.

Installed as ``kubectl-okr`` (kubectl finds plugins on PATH), so ``kubectl okr
tree -A`` works; ``okr tree`` is the same command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from okr_operator.adapters.cluster import NoClusterError, connect
from okr_operator.cli.common import Commands
from okr_operator.cli.views import render_table, render_tree, table_json, tree_json, wants_colour

Objects = Sequence[dict[str, Any]]
Render = Callable[..., str]
ToData = Callable[[Objects, Objects], object]


def register(commands: Commands) -> None:
    """Add ``tree`` and ``get`` to the subcommands."""
    tree = commands.add_parser(
        "tree",
        help="the alignment map from the cluster: objectives, child objectives, key results",
        description="Print the alignment map read from the cluster: company objectives, the "
        "objectives aligned to them (spec.parentRef) and their key results, with a progress "
        "bar, expected progress, health, value/target with unit, and owner. Health is "
        "coloured on a terminal; plain when piped or when NO_COLOR is set.",
    )
    _common(tree, formats=("text", "json"))
    tree.set_defaults(handler=_tree)
    get = commands.add_parser(
        "get",
        help="every objective and key result from the cluster as a table",
        description="Print every Objective and KeyResult read from the cluster, one a line: "
        "value, baseline, target, progress, expected, health, owner, and the reason a "
        "Ready or DataAvailable condition is False.",
    )
    _common(get, formats=("table", "json"))
    get.set_defaults(handler=_get)


def _common(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "-n", "--namespace", metavar="NS", help="this namespace (default: the context's)"
    )
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    parser.add_argument(
        "-o", "--output", choices=formats, default=formats[0], help=f"default {formats[0]}"
    )
    parser.add_argument(
        "--kubeconfig", help="kubeconfig file (default: KUBECONFIG, ~/.kube/config)"
    )
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")


def _read(args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    try:
        cluster = connect(args.kubeconfig, args.context)
    except NoClusterError as err:
        raise SystemExit(f"okr {args.command}: {err}") from None
    namespace = None if args.all_namespaces else (args.namespace or cluster.namespace)
    return cluster.list("objectives", namespace), cluster.list("keyresults", namespace)


def _tree(args: argparse.Namespace) -> int:
    return _show(args, render_tree, tree_json)


def _get(args: argparse.Namespace) -> int:
    return _show(args, render_table, table_json)


def _show(args: argparse.Namespace, render: Render, as_data: ToData) -> int:
    objectives, key_results = _read(args)
    if args.output == "json":
        print(json.dumps(as_data(objectives, key_results), indent=2))
    else:
        colour = wants_colour(sys.stdout.isatty(), os.environ)
        sys.stdout.write(render(objectives, key_results, color=colour))
    return 0
