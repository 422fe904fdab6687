"""examples/templates/: every template parses, queries valid PromQL and names its exporter.

The API server's dry run of the same file is in tests/integration/test_examples.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from okr_operator.api.spec import local_query_error, parse_key_result

pytestmark = pytest.mark.unit

TEMPLATES = Path(__file__).resolve().parents[2] / "examples" / "templates" / "key-results.yaml"
# The metric each template family reads, and the exporter its comment must name.
EXPORTERS = {
    "dora_deployments_total": "GitOps Promoter",
    "dora_lead_time_seconds": "GitOps Promoter",
    "dora_change_failure_rate_total": "GitOps Promoter",
    "dora_mean_time_to_restore_seconds": "GitOps Promoter",
    "argocd_app_sync_total": "Argo CD",
    "pyrra_availability": "Pyrra",
    "slo:sli_error:ratio_rate5m": "Sloth",
    "request_predict_seconds_bucket": "KServe",
}


def _documents() -> list[tuple[str, dict[str, Any]]]:
    """Each template with the comment text written above it."""
    out = []
    for chunk in TEMPLATES.read_text(encoding="utf-8").split("\n---\n"):
        comments = " ".join(
            line.lstrip("# ") for line in chunk.splitlines() if line.startswith("#")
        )
        doc = yaml.safe_load(chunk)
        out.append((comments, doc))
    return out


def _metrics(query: str) -> set[str]:
    names: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(query.replace("$__elapsed", "1m")), visit)
    return names


@pytest.mark.parametrize(
    ("comments", "doc"), _documents(), ids=[doc["metadata"]["name"] for _, doc in _documents()]
)
def test_each_template_parses_and_names_the_exporter_of_its_metrics(
    comments: str, doc: dict[str, Any]
) -> None:
    kr = parse_key_result(doc)
    assert local_query_error(kr.query) is None
    metrics = _metrics(kr.query)
    assert metrics
    assert metrics <= set(EXPORTERS), metrics - set(EXPORTERS)
    for metric in metrics:
        assert EXPORTERS[metric] in comments, f"{kr.ref.name}: no comment names {EXPORTERS[metric]}"
        assert metric.removesuffix("_bucket") in comments, f"{kr.ref.name}: {metric} not explained"


def test_the_templates_cover_every_metric_family_named_in_the_issue() -> None:
    used = set().union(*(_metrics(doc["spec"]["query"]) for _, doc in _documents()))
    assert used == set(EXPORTERS)
