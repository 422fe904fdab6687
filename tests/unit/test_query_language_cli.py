"""The query language on the command line: ``okr run --query-language``, ``okr validate``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from okr_operator.cli import parser
from okr_operator.domain.model import QueryLanguage

pytestmark = pytest.mark.unit


def test_okr_run_takes_the_default_sources_language() -> None:
    assert parser().parse_args(["run", "-A"]).query_language is QueryLanguage.PROMQL
    chosen = parser().parse_args(["run", "-A", "--query-language", "MetricsQL"])
    assert chosen.query_language is QueryLanguage.METRICSQL


SOURCE = """\
apiVersion: okr.dev/v1alpha1
kind: PrometheusSource
metadata: {{name: vm, namespace: team-a}}
spec: {{url: "http://vmsingle:8428"{language}}}
"""
KEY_RESULT = """\
apiVersion: okr.dev/v1alpha1
kind: KeyResult
metadata: {name: errors, namespace: team-a}
spec:
  objectiveRef: {name: goal}
  sourceRef: {kind: PrometheusSource, name: vm}
  query: sum(rate(http_errors_total)) default 0
  target: 5
  direction: StayBelow
"""


PROBLEM = "KeyResult team-a/errors: spec.query: invalid PromQL: invalid promql query"


@pytest.mark.parametrize(
    ("language", "code", "problems"),
    [
        pytest.param(", queryLanguage: MetricsQL", 0, [], id="MetricsQL: the server decides"),
        pytest.param("", 1, [PROBLEM], id="PromQL by default: an error"),
    ],
)
def test_okr_validate_checks_the_syntax_only_for_a_promql_source_in_the_files(
    tmp_path: Path, language: str, code: int, problems: list[str]
) -> None:
    file = tmp_path / "okrs.yaml"
    file.write_text(SOURCE.format(language=language) + "---\n" + KEY_RESULT)
    done = subprocess.run(
        [sys.executable, "-m", "okr_operator", "validate", str(file)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    found = [p for p in (PROBLEM,) if p in done.stdout]
    assert (done.returncode, found) == (code, problems), done.stdout + done.stderr
