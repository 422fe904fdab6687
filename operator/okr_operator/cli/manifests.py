"""Reading YAML manifests for the CLI: every document with its file and line.

``okr validate`` and ``okr preview`` read files, directories (``*.yaml`` and
``*.yml`` below them, sorted) and ``-`` (stdin). A file that cannot be read or
parsed is reported with its file and line and the others are still read.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STDIN = "-"


@dataclass(frozen=True)
class Document:
    """One YAML document that is a mapping, where it starts, and its nodes for field lines."""

    file: str
    line: int
    body: Mapping[str, Any]
    node: yaml.Node = field(repr=False, compare=False)

    def line_of(self, path: str) -> int:
        """The line of a field such as ``spec.health.atRiskLag`` (else its nearest parent)."""
        node = self.node
        line = self.line
        for part in path.replace("[", ".[").split("."):
            if not part:
                continue
            if isinstance(node, yaml.MappingNode):
                match = next((v for k, v in node.value if k.value == part), None)
                key = next((k for k, _ in node.value if k.value == part), None)
                if match is None or key is None:
                    return line
                node, line = match, key.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and part.startswith("["):
                index = int(part.strip("[]"))
                if index >= len(node.value):
                    return line
                node = node.value[index]
                line = node.start_mark.line + 1
            else:
                return line
        return line


@dataclass(frozen=True)
class LoadError:
    """A file that could not be read or parsed (the documents before the error are kept)."""

    file: str
    line: int | None
    message: str


@dataclass
class Loaded:
    """What the paths held."""

    files: list[str] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)


def expand(paths: Sequence[str], *, recursive: bool = False) -> Iterator[str]:
    """Files named, the YAML files in directories named, and ``-`` as itself.

    As ``kubectl apply -f DIR``: a directory's own files only, and those of its
    subdirectories too with ``recursive`` (``-R``), so ``examples/templates/``
    is not part of ``-f examples/``.
    """
    for path in paths:
        if path != STDIN and Path(path).is_dir():
            pick = Path(path).rglob if recursive else Path(path).glob
            found = sorted({*pick("*.yaml"), *pick("*.yml")})
            yield from (str(p) for p in found)
        else:
            yield path


def load(paths: Sequence[str], *, recursive: bool = False) -> Loaded:
    """Read every path; never raises for one bad file."""
    loaded = Loaded()
    for name in expand(paths, recursive=recursive):
        loaded.files.append(name)
        shown = "<stdin>" if name == STDIN else name
        try:
            text = sys.stdin.read() if name == STDIN else Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            loaded.errors.append(LoadError(shown, None, f"cannot read the file: {reason}"))
            continue
        _parse(shown, text, loaded)
    return loaded


def _parse(file: str, text: str, loaded: Loaded) -> None:
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            body = loader.construct_document(node)
            if isinstance(body, Mapping):
                loaded.documents.append(Document(file, node.start_mark.line + 1, body, node))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(part for part in (err.context, err.problem) if part)
        loaded.errors.append(LoadError(file, line, f"invalid YAML: {problem or err}"))
    except yaml.YAMLError as err:
        loaded.errors.append(LoadError(file, None, f"invalid YAML: {err}"))
    finally:
        loader.dispose()
