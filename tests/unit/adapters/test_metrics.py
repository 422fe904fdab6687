"""/metrics: per-object lines rendered at evaluation, concatenated at scrape time.

``expected-objects.prom`` is what the scrape-time collector this replaced
(``adapters/metrics.py`` at 5c17d5d, prometheus_client's ``generate_latest``)
wrote for the objects of ``metrics_objects``: the new exposition must be the
same bytes, so no dashboard, rule or test sees a change.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from okr_operator.adapters.metrics import MetricsServer, OkrMetrics
from okr_operator.adapters.metrics.exposition import KEY_RESULT_FAMILIES, OBJECTIVE_FAMILIES
from okr_operator.domain.model import Health, KeyResult, KeyResultStatus, Ref
from okr_operator.domain.snapshot import KeyResultSnapshot, ObjectiveSnapshot
from okr_operator.services.results import Result
from tests.unit.adapters import metrics_objects as o

pytestmark = pytest.mark.unit

EXPECTED = (Path(__file__).parent / "expected-objects.prom").read_text()
OWN = {
    "okr_evaluations",
    "okr_evaluation_duration_seconds",
    "okr_evaluation_lateness_seconds",
    "okr_event_loop_lag_seconds",
    "okr_query_errors",
    "okr_status_writes",
    "okr_build_info",
}


def kr(spec: KeyResult, status: KeyResultStatus) -> KeyResultSnapshot:
    return KeyResultSnapshot(spec.ref, spec, o.PERIOD, status)


def exported(disabled: tuple[str, ...] = ()) -> OkrMetrics:
    """The fixture objects, in the order the expected file was produced."""
    metrics = OkrMetrics(disabled=disabled)
    metrics.key_result_evaluated(
        kr(o.LATENCY, o.LATENCY_STATUS), result=Result.SUCCESS, seconds=0.1, lateness=0.0
    )
    metrics.key_result_changed(kr(o.SIGNUPS, o.SIGNUPS_STATUS))  # restored, not evaluated
    metrics.key_result_evaluated(
        kr(o.UPTIME, o.UPTIME_STATUS), result=Result.SUCCESS, seconds=0.1, lateness=0.0
    )
    metrics.objective_changed(ObjectiveSnapshot(o.RELIABLE.ref, o.RELIABLE, o.RELIABLE_STATUS))
    metrics.objective_changed(ObjectiveSnapshot(o.FAST.ref, o.FAST, o.FAST_STATUS))
    return metrics


def families(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    """Parsed with prometheus_client's parser: family -> [(sample, labels, value)]."""
    return {
        family.name: [(s.name, s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_the_objects_are_exported_as_the_scrape_time_collector_did() -> None:
    text = exported().objects_exposition().decode()
    assert text == EXPECTED
    names = {f.name for f in (*KEY_RESULT_FAMILIES, *OBJECTIVE_FAMILIES)}
    assert set(families(text)) == names


def test_metrics_holds_the_operators_own_instruments_then_the_objects() -> None:
    text = exported().exposition().decode()
    own, objects = text.split("# HELP okr_key_result_value ", 1)
    assert "# HELP okr_key_result_value " + objects == EXPECTED
    parsed = families(own)
    # prometheus_client adds a ``*_created`` gauge per counter and histogram, as before.
    assert {name.removesuffix("_created") for name in parsed} == OWN
    assert parsed["okr_evaluations"] == [("okr_evaluations_total", {"result": "success"}, 2.0)]


def test_promtool_accepts_the_exposition() -> None:
    checked = subprocess.run(
        ["promtool", "check", "metrics"],
        input=exported().exposition().decode(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_deleted_objects_vanish_and_others_stay() -> None:
    metrics = exported()
    metrics.key_result_removed(o.LATENCY.ref)
    metrics.objective_removed(o.FAST.ref)
    parsed = families(metrics.objects_exposition().decode())
    series = {(name, labels.get("key_result") or labels["objective"]) for name, labels, _v in (
        sample for samples in parsed.values() for sample in samples
    )}  # fmt: skip
    assert {key for _name, key in series} == {"signups", "uptime", "reliable"}
    # The families stay (with their headers), only the series go.
    assert len(parsed["okr_key_result_health"]) == 2 * len(Health)
    assert len(parsed["okr_objective_health"]) == len(Health)
    metrics.key_result_removed(o.SIGNUPS.ref)
    metrics.key_result_removed(o.UPTIME.ref)
    metrics.objective_removed(o.RELIABLE.ref)
    text = metrics.objects_exposition().decode()
    assert [line for line in text.splitlines() if not line.startswith("#")] == []
    assert "okr_key_result_info" not in text  # no rows: the family goes, as before


def test_query_errors_of_a_deleted_key_result_vanish() -> None:
    metrics = exported()
    metrics.key_result_evaluated(
        kr(o.LATENCY, o.LATENCY_STATUS), result=Result.NO_DATA, seconds=0.1, lateness=0.0
    )
    errors = "okr_query_errors_total{"
    assert errors in metrics.exposition().decode()
    metrics.key_result_removed(o.LATENCY.ref)
    assert errors not in metrics.exposition().decode()


def test_a_new_snapshot_replaces_the_lines_and_an_invalid_spec_drops_them() -> None:
    metrics = exported()
    metrics.key_result_changed(kr(o.SIGNUPS, o.UPTIME_STATUS))
    health = families(metrics.objects_exposition().decode())["okr_key_result_health"]
    assert ("okr_key_result_health", {
        "namespace": "payments", "objective": "reliable", "key_result": "signups",
        "health": "Achieved",
    }, 1.0) in health  # fmt: skip
    metrics.key_result_changed(
        KeyResultSnapshot(o.SIGNUPS.ref, None, None, o.UPTIME_STATUS, "spec.target: required")
    )
    assert 'key_result="signups"' not in metrics.objects_exposition().decode()


def test_disabled_families_and_only_they_are_left_out() -> None:
    off = ("okr_key_result_interval_seconds", "okr_key_result_info", "okr_key_result_target")
    full, reduced = families(EXPECTED), families(exported(off).objects_exposition().decode())
    assert reduced == {name: samples for name, samples in full.items() if name not in off}
    assert "okr_key_result_interval_seconds" not in exported(off).exposition().decode()


def test_an_unknown_family_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="okr_objective_info: not a key-result metric family"):
        OkrMetrics(disabled=("okr_objective_info",))
    ran = subprocess.run(
        [sys.executable, "-m", "okr_operator", "run", "-A",
         "--disable-metric", "okr_key_result_value,okr_key_result_nope"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 2
    assert "okr_key_result_nope: not a key-result metric family" in ran.stderr


@pytest.fixture
def served() -> Iterator[tuple[OkrMetrics, str]]:
    metrics = exported()
    server = MetricsServer(metrics.exposition, address="127.0.0.1", port=0).start()
    try:
        yield metrics, f"http://127.0.0.1:{server.port}"
    finally:
        server.close()


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_the_server_gzips_when_asked(served: tuple[OkrMetrics, str]) -> None:
    _metrics, url = served
    status, headers, plain = get(f"{url}/metrics")
    assert (status, headers.get("Content-Encoding")) == (200, None)
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert plain.decode().endswith(EXPECTED)
    # Prometheus's own header.
    status, headers, body = get(f"{url}/metrics", **{"Accept-Encoding": "gzip"})
    assert (status, headers["Content-Encoding"]) == (200, "gzip")
    assert gzip.decompress(body).decode().endswith(EXPECTED)
    assert len(body) < len(plain)
    _status, headers, body = get(f"{url}/metrics", **{"Accept-Encoding": "br, gzip;q=0"})
    assert headers.get("Content-Encoding") is None
    assert body.decode().endswith(EXPECTED)


def test_the_server_filters_by_name_and_knows_its_path(served: tuple[OkrMetrics, str]) -> None:
    _metrics, url = served
    query = "name[]=okr_evaluations_total&name[]=okr_objective_weight"
    status, _headers, body = get(f"{url}/metrics?{query}")
    assert status == 200
    assert families(body.decode()) == {
        "okr_evaluations": [("okr_evaluations_total", {"result": "success"}, 2.0)],
        "okr_objective_weight": [
            ("okr_objective_weight", {"namespace": "payments", "objective": "reliable"}, 3.0),
            ("okr_objective_weight", {"namespace": "search", "objective": "fast"}, 1.0),
        ],
    }
    assert get(f"{url}/favicon.ico")[0] == 404


def test_the_server_shows_each_scrape_the_latest_lines(served: tuple[OkrMetrics, str]) -> None:
    metrics, url = served
    metrics.key_result_removed(Ref("payments", "latency"))
    body = get(f"{url}/metrics")[2].decode()
    assert 'key_result="latency"' not in body
    assert 'key_result="signups"' in body
