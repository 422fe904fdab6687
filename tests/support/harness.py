"""Our Go test harnesses (hack/harness/NAME), built by ``hack/tools.sh harnesses``.

Each is looked up by the hash of this checkout's sources, so a test never runs a
binary that another clone built from different sources. Missing: skipped on a
developer machine, failed under ``CI=true`` (CI must never pass by skipping).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.helm import REPO_ROOT


def require_harness(name: str) -> Path:
    done = subprocess.run(
        [str(REPO_ROOT / "hack" / "tools.sh"), "harness-path", name],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    path = Path(done.stdout.strip())
    if not os.access(path, os.X_OK):
        message = f"harness {name} is not built (hack/tools.sh harnesses builds it)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must not skip")
        pytest.skip(message)
    return path
