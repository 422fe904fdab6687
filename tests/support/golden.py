"""Golden-file comparison shared by every test that checks a generated artefact.

A golden file is the reviewed, committed output of a generator (a Helm render, a
rules file, a metrics exposition). ``UPDATE_GOLDEN=1`` (``make golden``) rewrites
the files instead of comparing, so a deliberate change is one command plus a
reviewed diff; without it any difference fails with a unified diff.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

UPDATE_ENV = "UPDATE_GOLDEN"


def updating() -> bool:
    """True when the run should rewrite golden files instead of comparing."""
    return os.environ.get(UPDATE_ENV, "") not in ("", "0", "false")


def assert_golden(actual: str, path: Path) -> None:
    """Fail unless ``actual`` equals the content of the golden file ``path``.

    Normalise volatile parts (versions, checksums, timestamps) before calling.
    With ``UPDATE_GOLDEN=1`` the file is (re)written and the check passes.
    """
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != actual:
            path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(
            f"golden file {path} does not exist; create it with UPDATE_GOLDEN=1 (make golden)"
        )
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"{path} (golden)",
                tofile="actual",
            )
        )
        pytest.fail(
            f"{path} differs from the actual output; review, then UPDATE_GOLDEN=1 "
            f"(make golden) if the change is intended:\n{diff}"
        )
