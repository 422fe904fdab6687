"""Structural checks of the Dockerfile.

There is no container engine on the test machines, so the image is never built
here. These tests parse the instructions and hold the properties the chart and the
docs rely on: a pinned Python 3.11 base, the constrained install without extras,
a numeric non-root user, and `okr` as the entrypoint.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
BUILD_INPUTS = ["constraints.txt", "pyproject.toml", "README.md", "operator/"]


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def parse(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(arguments.split())))
        pending = ""
    assert pending == "", "the Dockerfile ends inside a continued instruction"
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    """The instructions of each FROM stage (the global ARGs before them are dropped)."""
    result: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE.read_text(encoding="utf-8"))


def test_base_image_should_be_a_pinned_python_311_slim_for_both_stages(
    instructions: list[Instruction],
) -> None:
    [arg] = [
        i for i in instructions if i.keyword == "ARG" and i.arguments.startswith("PYTHON_IMAGE")
    ]
    image = arg.arguments.removeprefix("PYTHON_IMAGE=")
    assert re.fullmatch(
        r"python:3\.11(\.\d+)?-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?", image
    )
    assert [stage[0].arguments for stage in stages(instructions)] == [
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE}",
    ]


def test_build_stage_should_copy_only_the_wheel_inputs(instructions: list[Instruction]) -> None:
    build, _ = stages(instructions)
    copied: list[str] = []
    for copy in (i for i in build if i.keyword == "COPY"):
        *sources, _destination = shlex.split(copy.arguments)
        copied += sources
    assert copied == BUILD_INPUTS
    for source in copied:
        assert (REPO_ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"


def test_install_should_be_constrained_and_without_extras(instructions: list[Instruction]) -> None:
    build, _ = stages(instructions)
    # Every RUN of the build stage, complete: an added `.[test]` or a dropped `-c` shows here.
    assert [i.arguments for i in build if i.keyword == "RUN"] == [
        "python -m venv /opt/okr && /opt/okr/bin/pip install --quiet pip==25.3",
        "/opt/okr/bin/pip install --quiet -c constraints.txt . && /opt/okr/bin/okr --version",
    ]


def test_runtime_stage_should_run_okr_as_a_numeric_non_root_user(
    instructions: list[Instruction],
) -> None:
    _, runtime = stages(instructions)
    assert [i.arguments for i in runtime if i.keyword == "COPY"] == [
        "--from=build /opt/okr /opt/okr"
    ]
    [user] = [i.arguments for i in runtime if i.keyword == "USER"]
    assert user == "65532:65532"
    # The last USER wins: nothing after it may switch back.
    assert [i.keyword for i in runtime].index("USER") > max(
        index for index, i in enumerate(runtime) if i.keyword in {"COPY", "RUN"}
    )
    [entrypoint] = [i.arguments for i in runtime if i.keyword == "ENTRYPOINT"]
    [cmd] = [i.arguments for i in runtime if i.keyword == "CMD"]
    # Exec form (JSON), so signals reach okr directly and kopf can shut down cleanly.
    assert json.loads(entrypoint) == ["okr"]
    assert json.loads(cmd) == ["run", "--all-namespaces"]


def test_dockerignore_should_allow_exactly_the_build_inputs() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert sorted(line[1:] for line in lines if line.startswith("!")) == sorted(BUILD_INPUTS)
