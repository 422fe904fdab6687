"""``okr validate``: check manifests with the operator's own rules (for CI on pull requests)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import yaml

from okr_operator.api.spec import query_language_for, validate_document
from okr_operator.cli.common import Commands


def register(commands: Commands) -> None:
    """Add ``okr validate`` to the subcommands."""
    validate = commands.add_parser(
        "validate", help="check OKR manifests the way the operator will (for CI on pull requests)"
    )
    validate.add_argument("files", nargs="+", type=Path, help="YAML files or directories")
    validate.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Check every file; 1 when any has a problem."""
    return _validate(args.files)


def _validate(paths: Sequence[Path]) -> int:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.y*ml")) if path.is_dir() else [path])
    failures = 0
    for file in files:
        try:
            documents = [d for d in yaml.safe_load_all(file.read_text()) if d]
        except (OSError, yaml.YAMLError) as err:
            print(f"{file}: {err}")
            failures += 1
            continue
        for doc in documents:
            if not isinstance(doc, dict):
                continue
            for problem in validate_document(
                doc, query_language=query_language_for(doc, documents)
            ):
                print(f"{file}: {problem}")
                failures += 1
    print(f"{len(files)} files checked, {failures} problems")
    return 1 if failures else 0
