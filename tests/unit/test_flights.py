"""Single flight: identical queries to one source for one second are sent once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from okr_operator.services.flights import Flights

pytestmark = pytest.mark.unit

AT = datetime(2026, 12, 2, 10, 0, 0, 250_000, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.moment = AT

    def now(self) -> datetime:
        return self.moment


class Querier:
    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime]] = []

    async def query(self, promql: str, at: datetime) -> Mapping[str, Any]:
        self.calls.append((promql, at))
        await asyncio.sleep(0.01)
        return {"status": "success", "data": {"resultType": "scalar", "result": [0, "1"]}}


async def test_concurrent_identical_queries_share_one_request() -> None:
    clock, querier = Clock(), Querier()
    flights = Flights(clock)
    shared = flights.share(querier)
    answers = await asyncio.gather(*(shared.query("up", AT) for _ in range(5)))
    assert querier.calls == [("up", AT)]
    assert all(answer is answers[0] for answer in answers)
    assert flights.shared == 4


async def test_what_differs_is_sent_separately() -> None:
    clock, first, second = Clock(), Querier(), Querier()
    flights = Flights(clock)
    await asyncio.gather(
        flights.share(first).query("up", AT),
        flights.share(first).query("down", AT),  # another expression
        flights.share(first).query("up", AT + timedelta(seconds=1)),  # another second
        flights.share(second).query("up", AT),  # another source
    )
    assert sorted(first.calls) == [("down", AT), ("up", AT), ("up", AT + timedelta(seconds=1))]
    assert second.calls == [("up", AT)]


async def test_an_answer_is_reused_within_its_second_and_not_after() -> None:
    clock, querier = Clock(), Querier()
    flights = Flights(clock)
    shared = flights.share(querier)
    await shared.query("up", AT)
    clock.moment = AT + timedelta(milliseconds=700)  # same wall-clock second
    await shared.query("up", AT + timedelta(milliseconds=500))
    assert len(querier.calls) == 1
    clock.moment = AT + timedelta(seconds=1)
    await shared.query("up", AT)
    assert len(querier.calls) == 2


async def test_a_cancelled_caller_does_not_cancel_the_others() -> None:
    clock, querier = Clock(), Querier()
    flights = Flights(clock)
    shared = flights.share(querier)
    first = asyncio.create_task(shared.query("up", AT))
    second = asyncio.create_task(shared.query("up", AT))
    await asyncio.sleep(0)
    first.cancel()
    assert (await second)["status"] == "success"
    assert len(querier.calls) == 1
