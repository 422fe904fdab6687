"""``okr validate``: file and line in every message, references, cycles, warnings, formats."""

# Expected outputs are whole lines, wider than the code's 100 columns.
# ruff: noqa: E501

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from okr_operator.cli import main
from okr_operator.cli.findings import Finding, Severity, check, render_github, render_text
from okr_operator.cli.manifests import load

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

BROKEN = """\
apiVersion: okr.dev/v1alpha1
kind: Objective
metadata: {name: a, namespace: ns}
spec:
  title: A
  period: {quarter: 2026-Q4}
  parentRef: {name: b}
---
apiVersion: okr.dev/v1alpha1
kind: Objective
metadata: {name: b, namespace: ns}
spec:
  title: B
  period: {quarter: 2026-Q4}
  parentRef: {name: a}
---
apiVersion: okr.dev/v1alpha1
kind: KeyResult
metadata: {name: avail, namespace: ns}
spec:
  objectiveRef: {name: a}
  query: sum(rate(ok[$__elapsed])) / sum(rate(all[$__elapsed]))
  target: 99.9
  interval: 10s
  weight: 0
---
apiVersion: okr.dev/v1alpha1
kind: KeyResult
metadata: {name: p95, namespace: ns}
spec:
  objectiveRef: {name: elsewhere}
  sourceRef: {kind: PrometheusSource, name: thanos}
  query: sum(rate(x[5m])
  baseline: 300
  target: 300
  interval: 5s
"""

WARNINGS_ONLY = """\
apiVersion: okr.dev/v1alpha1
kind: Objective
metadata: {name: o}
spec: {title: O, period: {quarter: 2026-Q4}}
---
apiVersion: okr.dev/v1alpha1
kind: KeyResult
metadata: {name: o}
spec:
  objectiveRef: {name: o}
  query: max(x)
  target: 1
  weight: 0
  period: {start: 2027-01-01T00:00:00Z, end: "2027-02-01T00:00:00Z"}
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(["validate", *args])
    code = exited.value.code
    return int(code) if isinstance(code, int) else 1, capsys.readouterr().out


def test_every_finding_names_file_and_line_and_refs_cycles_warnings_are_found(
    tmp_path: Path,
) -> None:
    path = tmp_path / "okrs.yaml"
    path.write_text(BROKEN)
    loaded = load([str(path)])
    assert render_text(len(loaded.files), check(loaded)) == (
        f"{path}:7: error: Objective ns/a: spec.parentRef: forms a cycle: ns/a → ns/b → ns/a\n"
        f"{path}:15: error: Objective ns/b: spec.parentRef: forms a cycle: ns/b → ns/a → ns/b\n"
        f"{path}:23: warning: KeyResult ns/avail: spec.target: 99.9 looks like a percentage, but spec.query divides one series by another without multiplying by 100, so it yields a ratio between 0 and 1: use 0.999 or multiply the query by 100\n"
        f"{path}:24: warning: KeyResult ns/avail: spec.interval: 10s re-reads $__elapsed (up to the whole period) at every evaluation, for a number that moves slowly; 3m or longer costs Prometheus far less\n"
        f"{path}:25: warning: KeyResult ns/avail: spec.weight: is 0: shown, but not counted in its objective's progress or health\n"
        f"{path}:31: note: KeyResult ns/p95: spec.objectiveRef: Objective ns/elsewhere is not in the files (external)\n"
        f"{path}:32: note: KeyResult ns/p95: spec.sourceRef: PrometheusSource ns/thanos is not in the files (external)\n"
        f"{path}:33: error: KeyResult ns/p95: spec.query: invalid PromQL: unclosed left parenthesis\n"
        f"{path}:35: error: KeyResult ns/p95: spec.target: must differ from spec.baseline (both 300.0)\n"
        f"{path}:36: error: KeyResult ns/p95: spec.interval: must be at least 10s, got 5s\n"
        "1 file checked: 5 errors, 3 warnings, 2 notes\n"
    )


def test_github_output_annotates_the_line_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad,file.yaml"
    path.write_text(BROKEN)
    code, out = run(capsys, "--output", "github", str(path))
    assert code == 1
    escaped = str(path).replace(",", "%2C")
    lines = out.splitlines()
    assert lines[0] == (
        f"::error file={escaped},line=7,title=okr validate%3A Objective ns/a::"
        "spec.parentRef: forms a cycle: ns/a → ns/b → ns/a"
    )
    assert lines[5] == (
        f"::notice file={escaped},line=31,title=okr validate%3A KeyResult ns/p95::"
        "spec.objectiveRef: Objective ns/elsewhere is not in the files (external)"
    )
    assert lines[-2] == (
        f"::error file={escaped},line=36,title=okr validate%3A KeyResult ns/p95::"
        "spec.interval: must be at least 10s, got 5s"
    )
    assert [line.split(" ")[0] for line in lines[:-1]] == [
        "::error", "::error", "::warning", "::warning", "::warning", "::notice", "::notice",
        "::error", "::error", "::error",
    ]  # fmt: skip
    assert lines[-1] == "1 file checked: 5 errors, 3 warnings, 2 notes"


def test_github_escapes_what_would_end_a_command() -> None:
    loaded = load([])
    assert render_github(0, check(loaded)) == "0 files checked: 0 errors, 0 warnings, 0 notes\n"
    finding = Finding(Severity.ERROR, "a:b.yaml", 3, "KeyResult x", "spec.query", "50% of\nlines")
    assert render_github(1, [finding]).splitlines()[0] == (
        "::error file=a%3Ab.yaml,line=3,title=okr validate%3A KeyResult x::spec.query: 50%25 of%0Alines"
    )


def test_warnings_fail_only_with_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(WARNINGS_ONLY)
    code, out = run(capsys, str(path))
    assert code == 0
    assert out == (
        f"{path}:13: warning: KeyResult o: spec.weight: is 0: shown, but not counted in its objective's progress or health\n"
        f"{path}:14: warning: KeyResult o: spec.period: does not overlap its objective's period: it counts towards a period it is not part of\n"
        "1 file checked: 0 errors, 2 warnings, 0 notes\n"
    )
    code, _ = run(capsys, "--strict", str(path))
    assert code == 1


def test_yaml_errors_name_the_file_and_line_and_the_other_files_are_still_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "a-broken.yaml"
    broken.write_text(
        "apiVersion: okr.dev/v1alpha1\nkind: KeyResult\nmetadata:\n  name: x\n   bad: [\n"
    )
    weird = tmp_path / "b-weird.yaml"
    weird.write_text(
        "apiVersion: okr.dev/v1alpha1\nkind: KeyResult\nmetadata: [1]\nspec:\n  objectiveRef: [1]\n"
        "  query: max(x)\n  target: 1\n---\n- a list, not ours\n"
    )
    code, out = run(capsys, str(tmp_path), str(tmp_path / "missing.yaml"))
    assert code == 1
    assert out == (
        f"{broken}:5: error: invalid YAML: mapping values are not allowed here\n"
        f"{weird}:3: error: KeyResult (unnamed): metadata.name: is required\n"
        f"{weird}:5: error: KeyResult (unnamed): spec.objectiveRef: input should be a valid dictionary or instance of ObjectiveRefWire\n"
        f"{tmp_path / 'missing.yaml'}: error: cannot read the file: No such file or directory\n"
        "3 files checked: 4 errors, 0 warnings, 0 notes\n"
    )
    assert "<unicode string>" not in out


def test_stdin_and_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(WARNINGS_ONLY))
    code, out = run(capsys, "--output", "json", "-")
    assert code == 0
    body = json.loads(out)
    assert body["files"] == ["-"]
    assert body["summary"] == {"files": 1, "errors": 0, "warnings": 2, "notes": 0}
    assert body["findings"][0] == {
        "severity": "warning",
        "file": "<stdin>",
        "line": 13,
        "object": "KeyResult o",
        "field": "spec.weight",
        "message": "is 0: shown, but not counted in its objective's progress or health",
    }


def test_the_examples_have_no_findings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, str(ROOT / "examples"))
    assert code == 0
    assert out.endswith("files checked: 0 errors, 0 warnings, 0 notes\n"), out


def test_a_directory_is_its_own_files_and_its_subdirectories_only_with_recursive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As kubectl apply -f DIR: examples/templates/ is not part of -f examples/.
    (tmp_path / "okrs.yaml").write_text(WARNINGS_ONLY)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "broken.yaml").write_text(BROKEN)
    code, out = run(capsys, str(tmp_path))
    assert (code, out.splitlines()[-1]) == (0, "1 file checked: 0 errors, 2 warnings, 0 notes")
    code, out = run(capsys, "-R", str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'templates' / 'broken.yaml'}:7: error:" in out
