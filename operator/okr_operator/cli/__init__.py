"""The ``okr`` command (also installed as ``kubectl-okr``).

This package is the composition root: the only place that builds adapters and
wires them into the engine and kopf. Each subcommand lives in a module of its
own that exposes ``register(commands)``: it adds its subparser and sets
``handler`` (a function of the parsed arguments returning the exit status).
Add a subcommand by writing such a module and listing it in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from okr_operator import __version__
from okr_operator.cli import checkin, digest, kubectl, preview, report, run, validate

DESCRIPTION = """\
OKRs as Kubernetes resources, measured by Prometheus.

okr run starts the operator; the other commands are for people and CI:
they check, preview and show OKR manifests and the objects in a cluster."""

COMMANDS: tuple[ModuleType, ...] = (run, validate, preview, kubectl, checkin, report, digest)


def parser(prog: str = "okr") -> argparse.ArgumentParser:
    """The whole command line: every subcommand of ``COMMANDS``."""
    top = argparse.ArgumentParser(
        prog=prog, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    top.add_argument("--version", action="version", version=f"okr-operator {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    return top


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``okr`` and ``kubectl-okr`` console scripts."""
    prog = "kubectl okr" if _invoked_as_kubectl_plugin() else "okr"
    args = parser(prog).parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    sys.exit(handler(args))


def _invoked_as_kubectl_plugin() -> bool:
    name = sys.argv[0].rsplit("/", 1)[-1] if sys.argv else ""
    return name.startswith("kubectl-okr")
