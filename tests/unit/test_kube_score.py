"""kube-score on the chart's renders: every finding is fixed or explained in docs/install.md.

kube-score (built from its Go module by ``hack/tools.sh kube-score``) scores what
``helm template`` renders, with its optional seccomp and container-port checks on.
A finding (grade below 10: WARNING or CRITICAL) fails the test unless the table
under "kube-score findings" in docs/install.md has a row for its check id and the
render it came from; a row that explains a finding no render has any more fails
too, so the table stays true.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.helm import REPO_ROOT, render, require_tool
from tests.unit.test_helm import CUSTOM_VALUES, HA_VALUES

pytestmark = pytest.mark.unit

INSTALL_DOC = REPO_ROOT / "docs" / "install.md"
KUBERNETES_VERSION = "v1.36"
OPTIONAL_CHECKS = ("container-seccomp-profile", "container-ports-check")
OK_GRADE = 10

RENDERS: dict[str, dict[str, Any] | None] = {
    "default": None,
    "custom": CUSTOM_VALUES,
    "ha": HA_VALUES,
}


def explained() -> set[tuple[str, str]]:
    """(check id, render) pairs of the table in docs/install.md's kube-score section."""
    text = INSTALL_DOC.read_text(encoding="utf-8")
    section = text.split("### kube-score findings", 1)[1].split("\n#", 1)[0]
    pairs: set[tuple[str, str]] = set()
    for check, renders in re.findall(r"^\| `([a-z0-9-]+)` \| ([^|]+) \|", section, re.MULTILINE):
        for name in re.findall(r"`([a-z-]+)`", renders):
            pairs.add((check, name))
    return pairs


def findings(rendered: str, tmp_path: Path) -> list[tuple[str, str, str]]:
    """(check id, object, comment) of every check kube-score grades below OK."""
    manifest = tmp_path / "render.yaml"
    manifest.write_text(rendered, encoding="utf-8")
    args = [str(require_tool("kube-score")), "score", "--output-format", "json"]
    args += ["--kubernetes-version", KUBERNETES_VERSION]
    for check in OPTIONAL_CHECKS:
        args += ["--enable-optional-test", check]
    done = subprocess.run(
        [*args, str(manifest)], capture_output=True, text=True, timeout=120, check=False
    )
    # kube-score exits 1 when it has a finding; anything else is a failure to score.
    assert done.returncode in (0, 1), done.stderr
    found = []
    for scored in json.loads(done.stdout):
        for result in scored["checks"]:
            if result["skipped"] or result["grade"] >= OK_GRADE:
                continue
            comments = "; ".join(c["summary"] for c in result["comments"] or [])
            found.append((result["check"]["id"], scored["object_name"], comments))
    return found


def test_the_table_should_parse() -> None:
    assert ("container-image-pull-policy", "default") in explained()


def test_every_kube_score_finding_should_be_explained_in_install_md(tmp_path: Path) -> None:
    table = explained()
    unexplained: list[str] = []
    seen: set[tuple[str, str]] = set()
    for name, values in RENDERS.items():
        out = tmp_path / name
        out.mkdir()
        for check, obj, comment in findings(render(values, tmp_dir=out), out):
            seen.add((check, name))
            if (check, name) not in table:
                unexplained.append(f"{name}: {check} on {obj}: {comment}")
    assert not unexplained, "kube-score findings that docs/install.md does not explain:\n" + (
        "\n".join(unexplained)
    )
    stale = sorted(table - seen)
    assert not stale, f"docs/install.md explains findings kube-score no longer has: {stale}"


def test_a_finding_should_fail_the_check(tmp_path: Path) -> None:
    """The check can fail: without the readiness probe kube-score reports it."""
    rendered = render(None, tmp_dir=tmp_path)
    without_probe = re.sub(
        r"^          readinessProbe:\n(?:^            .*\n)+", "", rendered, flags=re.MULTILINE
    )
    assert without_probe != rendered
    checks = {check for check, _, _ in findings(without_probe, tmp_path)}
    assert "pod-probes" in checks
