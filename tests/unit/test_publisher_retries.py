"""A status write that fails is retried soon, with a backoff, not an interval later (issue 8).

The old engine let the error escape the evaluation: a traceback, and the key
result's next run (and write) a whole minute later.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from okr_operator.domain.model import Health, KeyResultStatus, Ref
from okr_operator.services.kinds import Kind
from okr_operator.services.ports import WriteFailedError
from okr_operator.services.publisher import RETRY_MAX, Publisher
from okr_operator.services.registry import KeyResultEntry

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
REF = Ref("team", "kr")


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> datetime:
        return self.at


class Writer:
    def __init__(self) -> None:
        self.down = True
        self.written: list[KeyResultStatus] = []

    async def write_key_result(self, ref: Ref, status: KeyResultStatus) -> None:
        if self.down:
            raise WriteFailedError("cannot reach the API server: Connection refused")
        self.written.append(status)

    async def write_objective(self, ref: Ref, status: object) -> None:
        raise AssertionError("not written here")


class Events:
    async def post(self, **_: object) -> None:
        pass


class Observer:
    def status_written(self, kind: Kind) -> None:
        pass


async def test_failed_writes_are_retried_after_1_2_4_s_up_to_30_s_then_written() -> None:
    clock, writer = Clock(), Writer()
    deferred: list[datetime] = []
    publisher = Publisher(
        writer=writer,
        events=Events(),
        observer=Observer(),  # type: ignore[arg-type]
        clock=clock,
        status_interval=timedelta(minutes=5),
        defer=lambda kind, ref, at: deferred.append(at),
    )
    entry = KeyResultEntry(REF, "uid", 1, None, None, KeyResultStatus())
    status = KeyResultStatus(observed_generation=1, value=1.0, health=Health.ON_TRACK)
    await publisher.key_result(entry, status, timedelta(minutes=10))
    for _ in range(6):
        clock.at = deferred[-1]
        await publisher.flush_key_result(entry, timedelta(minutes=10))
    gaps = [(b - a).total_seconds() for a, b in zip([NOW, *deferred], deferred, strict=False)]
    assert gaps == [1, 2, 4, 8, 16, RETRY_MAX.total_seconds(), RETRY_MAX.total_seconds()]
    assert writer.written == []
    writer.down = False
    clock.at = deferred[-1]
    await publisher.flush_key_result(entry, timedelta(minutes=10))
    assert writer.written == [status]
    assert (entry.written.status, entry.written.at, entry.written.failures) == (status, clock.at, 0)
