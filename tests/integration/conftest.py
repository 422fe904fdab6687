"""Fixtures of the integration tier."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import Kubectl

CRDS = Path(__file__).resolve().parents[2] / "crds"


@pytest.fixture(scope="module")
def crds(kubectl: Kubectl) -> None:
    """crds/ applied and Established on the bench's kube-apiserver."""
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRDS))
    for path in sorted(CRDS.glob("*.yaml")):
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
