"""Upstream bodies with NUL, control and escape bytes, and megabytes, never reach
status, Events or logs as they are (issue 8).

A fake upstream stands in for Prometheus (``tests.support.fake_upstream``): a
real Prometheus never answers binary or NUL bytes; proxies and broken backends
in front of one do. The Event goes to the bench's real kube-apiserver.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client, config

from okr_operator.adapters.kube import KubeApi
from okr_operator.adapters.prometheus import Connection, PrometheusQuerier
from okr_operator.domain.conditions import set_condition
from okr_operator.domain.model import (
    ConditionStatus,
    ConditionType,
    OnEmpty,
    Problem,
    Reason,
    Ref,
)
from okr_operator.domain.promql_result import interpret
from okr_operator.domain.text import MESSAGE_LIMIT
from okr_operator.logs import JsonFormatter
from tests.support.fake_upstream import FakeUpstream, fake_upstream

pytestmark = pytest.mark.faults

AT = datetime(2026, 11, 2, 12, tzinfo=UTC)
HOSTILE = "bad\x00gateway\x1b[31m\u202eevil\r\nnext " + "z" * 5000


def invisible(text: str) -> list[str]:
    """Every character a terminal would interpret or a reader cannot see."""
    return [c for c in text if unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co", "Cn"}]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as running:
        yield running


@pytest.fixture(scope="module")
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=2)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


async def query(upstream: FakeUpstream, executor: ThreadPoolExecutor, mode: str) -> Any:
    querier = PrometheusQuerier(Connection(url=upstream.url(mode)), executor=executor)
    try:
        return await querier.query("up", AT)
    finally:
        querier.close()


def condition_message(problem: Problem) -> str:
    (ready, *_) = set_condition(
        (),
        type=ConditionType.READY,
        status=ConditionStatus.FALSE,
        reason=str(problem.reason),
        message=problem.message,
        now=AT,
        generation=1,
    )
    return ready.message


@pytest.mark.parametrize("mode", ["binary", "nuljson"])
async def test_a_hostile_body_reaches_the_condition_escaped_and_bounded(
    upstream: FakeUpstream, executor: ThreadPoolExecutor, mode: str
) -> None:
    envelope = await query(upstream, executor, mode)
    observation = interpret(envelope, on_empty=OnEmpty.NO_DATA)
    assert isinstance(observation, Problem), observation
    for text in (observation.message, condition_message(observation)):
        assert invisible(text) == [], repr(text[:200])
        assert "\\x00" in text, repr(text[:200])  # escaped, visibly, not dropped silently
        assert len(text) <= MESSAGE_LIMIT, len(text)
    if mode == "nuljson":
        warnings = envelope.get("warnings")
        assert warnings
        assert all(invisible(str(w)) for w in warnings)
        assert "\\u202e" in observation.message


def test_a_condition_message_is_escaped_and_bounded_whoever_builds_it() -> None:
    message = condition_message(Problem(reason=Reason.QUERY_FAILED, message=HOSTILE))
    assert invisible(message) == []
    assert message.startswith("bad\\x00gateway\\x1b[31m\\u202eevil next zzz")
    assert len(message) == MESSAGE_LIMIT
    assert message.endswith("...")


async def test_an_event_message_reaches_the_api_server_escaped_and_bounded(
    bench: Any, kube_namespace: str
) -> None:
    api_client = config.new_client_from_config(config_file=str(bench.kubeconfig))
    with ThreadPoolExecutor(max_workers=1) as pool:
        kube = KubeApi(api_client, executor=pool, instance="faults-test")
        await kube.post(
            kind="KeyResult",
            ref=Ref(kube_namespace, "hostile"),
            uid="00000000-0000-0000-0000-000000000001",
            type_="Warning",
            reason="QueryFailed",
            message=HOSTILE,
        )
        events = client.CoreV1Api(api_client).list_namespaced_event(kube_namespace).items
    api_client.close()
    assert len(events) == 1, events
    message = events[0].message
    assert invisible(message) == [], repr(message[:200])
    assert message.startswith("bad\\x00gateway\\x1b[31m")
    assert len(message) <= MESSAGE_LIMIT


def test_a_log_line_carries_no_control_characters_and_is_bounded() -> None:
    record = logging.LogRecord(
        "okr_operator.engine", logging.WARNING, __file__, 1, "query failed: %s", (HOSTILE,), None
    )
    record.object = "KeyResult ns/" + HOSTILE
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    for field in ("message", "object"):
        assert invisible(entry[field]) == [], repr(entry[field][:200])
        assert "\\x00" in entry[field]
        assert len(entry[field]) < 2100
