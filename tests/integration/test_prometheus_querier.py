"""The Prometheus adapter against upstreams that misbehave, on loopback.

A fake stands in for Prometheus here because a real one cannot produce these
cases (it never echoes request headers, trickles, or answers NUL bytes); see
``tests.support.fake_upstream``. Everything runs in-process over real sockets
with the real HTTP stack (requests, urllib3).
"""

from __future__ import annotations

import base64
import json
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from okr_operator.adapters.prometheus import Connection, PrometheusQuerier
from tests.support.fake_upstream import SCALAR, FakeUpstream, fake_upstream

pytestmark = pytest.mark.integration

TOKEN = "tok-3f9a1c7e2b"
USER, PASSWORD = "okr-reader", "correct/horse+battery=staple"
TENANT = "tenant-secret-77"
AT = datetime(2026, 11, 2, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream(trickle_seconds=0.5, huge_bytes=8 << 20) as running:
        yield running


@pytest.fixture(scope="module")
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=4)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


def forms_of_credentials() -> list[str]:
    """Each credential as the request carried it, and as an echo may quote it."""
    pair = f"{USER}:{PASSWORD}".encode()
    return [
        TOKEN, TENANT, PASSWORD, base64.b64encode(pair).decode(),
        base64.b64encode(pair).decode().rstrip("="), f"Bearer {TOKEN}",
    ]  # fmt: skip


async def query(
    upstream: FakeUpstream, executor: ThreadPoolExecutor, mode: str, **conn: Any
) -> Any:
    querier = PrometheusQuerier(Connection(url=upstream.url(mode), **conn), executor=executor)
    try:
        return await querier.query("up", AT)
    finally:
        querier.close()


@pytest.mark.parametrize("mode", ["echo401", "echojson"])
async def test_an_upstream_echoing_the_request_leaks_no_credential(
    upstream: FakeUpstream, executor: ThreadPoolExecutor, mode: str
) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}", "X-Scope-OrgID": TENANT}
    by_bearer = await query(upstream, executor, mode, headers=bearer)
    by_basic = await query(
        upstream, executor, mode, headers={"X-Scope-OrgID": TENANT}, basic_auth=(USER, PASSWORD)
    )
    for envelope in (by_bearer, by_basic):
        text = json.dumps(envelope)
        assert envelope["status"] == "error", envelope
        assert "***" in envelope["error"], envelope  # the echo is there, masked
        for credential in forms_of_credentials():
            assert credential not in text, (credential, text)
    if mode == "echo401":
        assert by_bearer["errorType"] == "http_401"
        assert by_bearer["error"].startswith(f"{upstream.url(mode)} answered HTTP 401: ")
        assert "Authorization: ***" in by_bearer["error"], by_bearer


@pytest.mark.parametrize("mode", ["trickle", "stall", "hang"])
async def test_the_timeout_is_a_deadline_for_the_whole_request(
    upstream: FakeUpstream, executor: ThreadPoolExecutor, mode: str
) -> None:
    # trickle: a byte every 0.5 s, which no per-read timeout ever catches (the
    # whole answer would take 40 s); stall: half a body, then nothing.
    started = time.monotonic()
    envelope = await query(upstream, executor, mode, timeout=timedelta(seconds=2))
    took = time.monotonic() - started
    assert envelope == {
        "status": "error",
        "errorType": "timeout",
        "error": f"timed out waiting for an answer from {upstream.url(mode)}: "
        "no complete answer within 2s (the source's timeout)",
    }
    assert 1.9 < took < 3.2, took


async def test_an_answer_over_the_size_limit_is_refused_with_bounded_memory(
    upstream: FakeUpstream, executor: ThreadPoolExecutor
) -> None:
    tracemalloc.start()
    try:
        querier = PrometheusQuerier(
            Connection(url=upstream.url("huge"), timeout=timedelta(seconds=20)),
            executor=executor,
            max_response_bytes=1 << 20,
        )
        envelope = await querier.query("up", AT)
        querier.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert envelope == {
        "status": "error",
        "errorType": "response_too_large",
        "error": f"{upstream.url('huge')} answered more than 1 MiB, the limit of okr run "
        "--max-response-bytes (a key result's query must yield one number)",
    }
    # The upstream offers 8 MiB; reading stops at the limit.
    assert peak < 3 << 20, peak


async def test_a_healthy_answer_still_comes_through(
    upstream: FakeUpstream, executor: ThreadPoolExecutor
) -> None:
    envelope = await query(upstream, executor, "ok")
    assert envelope == json.loads(SCALAR)
