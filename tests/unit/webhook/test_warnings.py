"""The webhook's warnings are ``okr validate``'s warnings for the same object."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from okr_operator.cli.webhook import validate_warnings

pytestmark = pytest.mark.unit

# A ratio query with a percentage target, and weight 0: two warnings, no error.
KEY_RESULT: dict[str, Any] = {
    "apiVersion": "okr.dev/v1alpha1",
    "kind": "KeyResult",
    "metadata": {"name": "availability", "namespace": "team-a"},
    "spec": {
        "objectiveRef": {"name": "reliable"},
        "query": 'sum(rate(requests_total{code!~"5.."}[5m])) / sum(rate(requests_total[5m]))',
        "baseline": 0.5,
        "target": 99.9,
        "weight": 0,
    },
}


def test_the_warnings_should_be_those_okr_validate_prints_for_the_object(tmp_path: Path) -> None:
    manifest = tmp_path / "kr.yaml"
    manifest.write_text(yaml.safe_dump(KEY_RESULT), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "okr_operator", "validate", "--output", "json", str(manifest)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout)["findings"]
    # The note says the objective is not among the files: not a warning.
    assert [f["severity"] for f in found] == ["note", "warning", "warning"]
    expected = [
        f"{f['object']}: {f['field']}: {f['message']}" for f in found if f["severity"] == "warning"
    ]
    assert validate_warnings(KEY_RESULT) == expected
    assert expected[0].startswith(
        "KeyResult team-a/availability: spec.target: 99.9 looks like a percentage"
    )


def test_an_object_without_warnings_should_give_none() -> None:
    quiet = {**KEY_RESULT, "spec": {**KEY_RESULT["spec"], "target": 0.999, "weight": 1}}
    assert validate_warnings(quiet) == []
