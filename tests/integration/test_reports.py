"""``okr report`` on the demo organisation in the real API server (issue 11).

One bench setup for every report and digest test: the examples in prefixed
namespaces with a quarter of status replayed by the operator's own code against
the demo's backfilled history (tests/support/okr_replay.py says why), then the
real ``okr`` command reads them through the kubeconfig. The PDF is printed by
Debian's Chromium and read back with poppler; its pages are kept as PNGs in
``.testenv/artifacts/reports/`` for people to look at.
"""

from __future__ import annotations

import csv
import http.server
import io
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from okr_operator.reporting.formats import percent
from tests.conftest import Kubectl
from tests.support.bench import Bench, RunningProcess, start_prometheus_with_history
from tests.support.okr_replay import (
    DemoOrganisation,
    demo_organisation,
    fill_status,
    save,
    status_patches,
)
from tests.support.processes import REPO_ROOT, free_port

sys.path.insert(0, str(REPO_ROOT / "hack"))
from demo_model import EPOCH
from history import END_MARGIN, write_history

pytestmark = pytest.mark.integration
HISTORY_STEP = 1800.0  # rate(...[1h]) needs two samples an hour


@pytest.fixture(scope="module")
def artefacts(bench: Bench) -> Path:
    path = bench.root / "artifacts" / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def demo_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    """A Prometheus holding the demo's history from its epoch to now."""
    history = io.StringIO()
    write_history(history, EPOCH, time.time() - END_MARGIN, HISTORY_STEP)
    workdir = tmp_path_factory.mktemp("demo-prometheus")
    with start_prometheus_with_history(history.getvalue(), workdir) as prometheus:
        yield prometheus


@pytest.fixture(scope="module")
def demo(
    bench: Bench, kubectl: Kubectl, demo_prometheus: RunningProcess, artefacts: Path
) -> Iterator[DemoOrganisation]:
    """The demo organisation with replayed status, in the bench's API server."""
    org = demo_organisation(f"r{secrets.token_hex(2)}-")
    fill_status(org, demo_prometheus.url, datetime.now(UTC))
    save(org, artefacts / "demo-objects.json")
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(REPO_ROOT / "crds"))
    for crd in ("keyresults", "objectives"):
        kubectl("wait", "--for=condition=Established", f"crd/{crd}.okr.dev", "--timeout=60s")
    without_status = DemoOrganisation(
        org.prefix,
        org.namespaces,
        [{k: v for k, v in d.items() if k != "status"} for d in org.objectives],
        [{k: v for k, v in d.items() if k != "status"} for d in org.key_results],
    )
    kubectl("apply", "-f", "-", input=without_status.manifests())
    for resource, namespace, name, body in status_patches(org):
        kubectl("patch", resource, name, "-n", namespace, "--subresource=status",
                "--type=merge", "-p", body)  # fmt: skip
    yield org
    for ns in org.namespaces:
        name = ns["metadata"]["name"]
        kubectl("delete", "keyresults.okr.dev,objectives.okr.dev", "--all", "-n", name,
                "--wait=false", check=False)  # fmt: skip
        kubectl("delete", "namespace", name, "--wait=false", check=False)


def okr(bench: Bench, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """The real ``okr`` command against the bench (admin kubeconfig)."""
    env = {**os.environ, "KUBECONFIG": str(bench.kubeconfig)}
    done = subprocess.run(
        [sys.executable, "-m", "okr_operator", *args],
        capture_output=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    if check and done.returncode != 0:
        raise AssertionError(f"okr {' '.join(args)} exited {done.returncode}: {done.stderr!r}")
    return done


def _titles(org: DemoOrganisation) -> list[str]:
    return [o["spec"]["title"] for o in org.objectives]


def _score(kr: dict[str, Any]) -> float:
    status = kr["status"]
    return status["grade"] if status.get("grade") is not None else status["progress"]


def test_the_pdf_scorecard_names_every_objective_and_scores_every_key_result(
    bench: Bench, demo: DemoOrganisation, artefacts: Path, tmp_path: Path
) -> None:
    pdf = tmp_path / "q4.pdf"
    started = time.monotonic()
    okr(bench, "report", "-A", "--period", "2026-Q4", "--format", "pdf", "-o", str(pdf))
    took = time.monotonic() - started
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", " ", text)
    for title in _titles(demo):
        assert title in flat, f"objective {title!r} is not in the PDF"
    for kr in demo.key_results:
        label = kr["spec"].get("description") or kr["metadata"]["name"]
        row = next((line for line in text.splitlines() if kr["metadata"]["name"] in line), None)
        assert row is not None, f"key result {kr['metadata']['name']} is not in the PDF"
        assert percent(_score(kr)) in flat, f"score of {label!r} is not in the PDF"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"Page size:.*\(A4\)", info.stdout), info.stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout)[1])  # type: ignore[index]
    roots = [o for o in demo.objectives if "parentRef" not in o["spec"]]
    assert pages >= 1 + len(roots)  # the summary, then each company objective on a new page
    for old in artefacts.glob("scorecard-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "110", "-png", str(pdf), str(artefacts / "scorecard")], check=True
    )
    assert len(list(artefacts.glob("scorecard-*.png"))) == pages
    (artefacts / "q4.pdf").write_bytes(pdf.read_bytes())
    assert took < 120


def test_json_csv_and_markdown_carry_the_same_numbers(bench: Bench, demo: DemoOrganisation) -> None:
    namespace = demo.namespace("team-reliability")
    body = json.loads(okr(bench, "report", "-n", namespace, "--format", "json").stdout)
    assert body["version"] == 1
    [objective] = body["objectives"]
    assert objective["title"] == "Customers don't notice our incidents"
    assert objective["parent"] == {"namespace": demo.namespace("okr-company"),
                                   "name": "customers-can-rely-on-us"}  # fmt: skip
    ours = {k["metadata"]["name"]: k for k in demo.key_results
            if k["metadata"]["namespace"] == namespace}  # fmt: skip
    assert {kr["name"]: kr["score"] for kr in objective["keyResults"]} == {
        name: _score(kr) for name, kr in ours.items()
    }
    for kr in objective["keyResults"]:
        assert kr["trajectory"]["points"], f"{kr['name']} has no trajectory"
        assert kr["trajectory"]["source"] == "history"

    rows = list(csv.DictReader(io.StringIO(okr(bench, "report", "-n", namespace,
                                               "--format", "csv").stdout.decode())))  # fmt: skip
    assert sorted(row["name"] for row in rows) == sorted(ours)
    assert {row["name"]: float(row["score"]) for row in rows} == {
        name: _score(kr) for name, kr in ours.items()
    }
    markdown = okr(bench, "report", "-n", namespace, "--format", "md").stdout.decode()
    assert "## Customers don't notice our incidents:" in markdown
    for kr in ours.values():
        assert f"(`{kr['metadata']['name']}`)" in markdown


def test_a_missing_namespace_flag_and_a_bad_period_are_refused(bench: Bench) -> None:
    assert okr(bench, "report", "--format", "json", check=False).returncode == 2
    bad = okr(bench, "report", "-A", "--period", "Q4", check=False)
    assert bad.returncode == 1
    assert b"invalid period 'Q4'" in bad.stderr


def test_with_prometheus_the_charts_have_every_evaluation_interval(
    bench: Bench, demo: DemoOrganisation, demo_prometheus: RunningProcess
) -> None:
    namespace = demo.namespace("team-platform")
    done = okr(bench, "report", "-n", namespace, "--format", "json",
               "--prometheus", demo_prometheus.url)  # fmt: skip
    body = json.loads(done.stdout)
    [objective] = body["objectives"][0]["children"] or body["objectives"]
    charts = {kr["name"]: kr["trajectory"] for kr in objective["keyResults"]}
    lead_time = charts["deployment-lead-time"]
    assert lead_time["source"] == "prometheus"
    # A point per 5m evaluation interval, widened only to stay under Prometheus' 11,000
    # points per range query: far more than the history's one a day.
    days = (datetime.now(UTC) - datetime.fromisoformat(lead_time["expected"][0]["time"])).days
    assert days * 100 < len(lead_time["points"]) <= 11_001
    uses_elapsed = [k["metadata"]["name"] for k in demo.key_results
                    if k["metadata"]["namespace"] == namespace
                    and "$__elapsed" in k["spec"]["query"]]  # fmt: skip
    for name in uses_elapsed:
        assert charts[name]["source"] == "history"
        assert f"{namespace}/{name}: history points only".encode() in done.stderr


class _Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver on loopback: keeps each POSTed body, answers like Slack ("ok")."""

    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).bodies.append(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    _Receiver.bodies = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/services/T000/B000/secret", _Receiver.bodies
    finally:
        server.shutdown()
        server.server_close()


def test_the_slack_digest_is_posted_to_the_webhook_within_block_kits_limits(
    bench: Bench, demo: DemoOrganisation, receiver: tuple[str, list[bytes]], tmp_path: Path
) -> None:
    url, bodies = receiver
    url_file = tmp_path / "webhook-url"
    url_file.write_text(url + "\n")
    links = ["--web-url", "https://okr.example.com", "--grafana-url", "https://grafana.example.com"]
    okr(bench, "digest", "-A", "--format", "slack", "--webhook-url-file", str(url_file), *links)
    [body] = bodies
    message = json.loads(body)
    blocks = message["blocks"]
    assert len(blocks) <= 50
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    teams = {kr["metadata"]["labels"]["okr.dev/team"] for kr in demo.key_results}
    behind = [kr for kr in demo.key_results if kr["status"]["health"] in ("AtRisk", "OffTrack")]
    assert behind, "the demo has key results behind plan"
    text = "\n".join(sections)
    for kr in behind:
        team = kr["metadata"]["labels"]["okr.dev/team"]
        assert f"Team {team}" in text
        link = f"https://okr.example.com/keyresults/{kr['metadata']['namespace']}/"
        assert link + kr["metadata"]["name"] in text
    # -A also reads what other tests on the shared bench left, so every team named
    # must be the team of some key result in the cluster, not only of the demo's.
    listed = json.loads(bench.kubectl("get", "keyresults", "-A", "-o", "json").stdout)
    in_cluster = {(k["metadata"].get("labels") or {}).get("okr.dev/team") for k in listed["items"]}
    assert teams <= in_cluster
    assert {line.split("Team ")[1].split("|")[-1].rstrip("*>")
            for line in text.splitlines() if "Team " in line} <= in_cluster  # fmt: skip


def test_a_failing_webhook_is_reported_without_its_url(
    bench: Bench, demo: DemoOrganisation, tmp_path: Path
) -> None:
    url_file = tmp_path / "webhook-url"
    url_file.write_text(f"http://127.0.0.1:{free_port()}/services/T000/B000/secret\n")
    done = okr(bench, "digest", "-n", demo.namespace("team-ml"), "--format", "teams",
               "--webhook-url-file", str(url_file), check=False)  # fmt: skip
    assert done.returncode == 1
    assert b"the webhook could not be reached (ConnectionError)" in done.stderr
    assert b"secret" not in done.stderr


def test_the_markdown_digest_prints_the_week(bench: Bench, demo: DemoOrganisation) -> None:
    text = okr(bench, "digest", "-A", "--format", "markdown", "--print").stdout.decode()
    assert text.startswith("# OKR digest: ")
    for kr in demo.key_results:
        if kr["status"]["health"] in ("AtRisk", "OffTrack"):
            assert kr["spec"]["description"] in text
    assert "Check-ins due: none" in text
