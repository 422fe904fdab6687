"""``okr validate``: the operator's own parser, for CI on pull requests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from okr_operator.cli import main
from okr_operator.cli.run import _byte_size

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def okr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "okr_operator", *args], capture_output=True, text=True, check=False
    )


def test_validate_github_annotates_a_broken_file_and_exits_1(tmp_path: Path) -> None:
    # The installed command, as a CI step runs it.
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        """apiVersion: okr.dev/v1alpha1
kind: KeyResult
metadata: {name: p95, namespace: team-a}
spec:
  objectiveRef: {name: fast}
  query: sum(rate(x[5m])
  target: 3
"""
    )
    result = okr("validate", "--output", "github", str(bad))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"::notice file={bad},line=5,title=okr validate%3A KeyResult team-a/p95::"
        "spec.objectiveRef: Objective team-a/fast is not in the files (external)",
        f"::error file={bad},line=6,title=okr validate%3A KeyResult team-a/p95::"
        "spec.query: invalid PromQL: unclosed left parenthesis",
        "1 file checked: 1 error, 0 warnings, 1 note",
    ]


def test_run_refuses_to_guess_the_namespaces() -> None:
    result = okr("run")
    assert result.returncode == 1
    assert "-A/--all-namespaces or --namespace NS" in result.stderr


def test_every_command_has_readable_help(capsys: pytest.CaptureFixture[str]) -> None:
    # In-process: one interpreter start per command would cost seconds each.
    def help_of(*args: str) -> str:
        with pytest.raises(SystemExit) as exited:
            main([*args, "--help"])
        assert exited.value.code == 0
        return capsys.readouterr().out

    top = help_of()
    assert "OKRs as Kubernetes resources, measured by Prometheus." in top
    assert "composition root" not in top  # the package docstring is for developers
    for command in ["run", "validate", "preview", "tree", "get"]:
        assert command in top
        text = help_of(command)
        assert text.startswith(f"usage: okr {command} "), text
        assert "\n\noptions:\n" in text  # described, not only a usage line
        assert len(text.split("\n\n")[1]) > 40, text


def test_installed_as_kubectl_okr_it_names_itself_so() -> None:
    script = Path(sys.executable).parent / "kubectl-okr"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: kubectl okr ")


def test_run_reads_the_response_size_limit_with_binary_suffixes() -> None:
    assert [_byte_size(t) for t in ("4194304", "512Ki", "4Mi", "1Gi")] == [
        4194304, 524288, 4194304, 1073741824,
    ]  # fmt: skip
    result = okr("run", "-A", "--max-response-bytes", "4MB")
    assert result.returncode == 2
    assert "invalid size '4MB': expected a positive number of bytes such as 4194304 or 4Mi" in (
        result.stderr
    )


def test_validate_reports_an_overflowing_interval_and_checks_the_other_files(
    tmp_path: Path,
) -> None:
    kr = """
apiVersion: okr.dev/v1alpha1
kind: KeyResult
metadata: {{name: {name}, namespace: team-a}}
spec: {{objectiveRef: {{name: fast}}, query: up, target: 1, interval: {interval}}}
"""
    (tmp_path / "a.yaml").write_text(kr.format(name="huge", interval="99999999999y"))
    (tmp_path / "b.yaml").write_text(kr.format(name="late", interval="8000y"))
    result = okr("validate", str(tmp_path))
    assert (result.returncode, result.stderr) == (1, "")
    external = "spec.objectiveRef: Objective team-a/fast is not in the files (external)"
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'a.yaml'}:5: error: KeyResult team-a/huge: spec.interval: "
        "must be at most 1y (365d), got 99999999999y",
        f"{tmp_path / 'a.yaml'}:5: note: KeyResult team-a/huge: {external}",
        f"{tmp_path / 'b.yaml'}:5: error: KeyResult team-a/late: spec.interval: "
        "must be at most 1y (365d), got 8000y",
        f"{tmp_path / 'b.yaml'}:5: note: KeyResult team-a/late: {external}",
        "2 files checked: 2 errors, 0 warnings, 2 notes",
    ]
