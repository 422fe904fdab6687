"""Running the real ``helm`` (and ``kubeconform``) against the chart in tests.

The binaries come from PATH (``.testenv/env.sh`` puts the built tools there) or
from the build cache ``hack/tools.sh`` fills. A missing tool skips a test on a
developer machine but fails it under ``CI=true``: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "helm" / "okr-operator"
CRDS_DIR = REPO_ROOT / "crds"
CHART_CRDS_DIR = CHART_DIR / "crd-files"

RELEASE = "okr"
NAMESPACE = "okr-system"


def _cache_bin_dir() -> Path:
    cache = os.environ.get("OKR_CACHE_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "okr-operator"
    )
    return Path(cache) / "bin"


def find_tool(name: str) -> Path | None:
    """The tool on PATH, else in hack/tools.sh's cache, else None."""
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    cached = _cache_bin_dir() / name
    return cached if os.access(cached, os.X_OK) else None


def require_tool(name: str) -> Path:
    """The tool's path; skips the test without it, or fails it when CI is set."""
    path = find_tool(name)
    if path is not None:
        return path
    message = f"{name} is not installed (hack/tools.sh {name} builds it)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must not skip")
    pytest.skip(message)


class HelmError(Exception):
    """helm exited non-zero; the message carries its stderr."""


def helm(*args: str, cwd: Path = REPO_ROOT) -> str:
    """Run helm and return stdout; raise HelmError with stderr on failure."""
    done = subprocess.run(
        [str(require_tool("helm")), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise HelmError(done.stderr.strip())
    return done.stdout


def render(
    values: Mapping[str, Any] | None = None,
    *,
    api_versions: Sequence[str] = (),
    tmp_dir: Path,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> str:
    """``helm template`` of the chart with ``values`` (written to a file, so types survive)."""
    args = ["template", release, str(CHART_DIR), "--namespace", namespace]
    if values is not None:
        values_file = tmp_dir / "values.yaml"
        values_file.write_text(yaml.safe_dump(dict(values), sort_keys=False), encoding="utf-8")
        args += ["--values", str(values_file)]
    for api_version in api_versions:
        args += ["--api-versions", api_version]
    return helm(*args)


def documents(rendered: str) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a render."""
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def of_kind(rendered: str, kind: str) -> list[dict[str, Any]]:
    """The rendered documents of one kind, in render order."""
    return [doc for doc in documents(rendered) if doc.get("kind") == kind]
