"""Single flight: identical queries to one source for one second run once.

Many key results query the same expression (a shared SLO, a team-wide
recording rule), and baseline captures of one quarter all ask for the same
instant. A query is identified by its source (the querier object the resolver
returns for it), the expanded PromQL and the evaluation instant to the second;
callers that ask for one while it runs, or within the same wall-clock second
after it finished, share its answer instead of sending it again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from okr_operator.domain.model import QueryLanguage
from okr_operator.services.ports import Clock, Querier, RangeQuerier

_Key = tuple[Querier, str, datetime]


class Flights:
    """The queries in flight (and just landed) for every source."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._flights: dict[_Key, asyncio.Future[Mapping[str, Any]]] = {}
        self._started: deque[tuple[datetime, _Key]] = deque()
        self.shared = 0  # queries answered by another caller's request

    def share(self, querier: Querier) -> Querier:
        """``querier`` with its queries shared among identical callers."""
        return _Shared(self, querier)

    async def query(self, querier: Querier, promql: str, at: datetime) -> Mapping[str, Any]:
        """Run ``querier.query(promql, at)`` unless an identical one is in flight."""
        second = self._clock.now().replace(microsecond=0)
        self._land(second)
        key = (querier, promql, at.replace(microsecond=0))
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(querier.query(promql, at))
            self._flights[key] = flight
            self._started.append((second, key))
        else:
            self.shared += 1
        # Shielded: one caller cancelled (its object deleted) must not cancel
        # the request the others wait for.
        return await asyncio.shield(flight)

    def _land(self, second: datetime) -> None:
        # Forget flights started in an earlier second; their callers hold them.
        while self._started and self._started[0][0] < second:
            _, key = self._started.popleft()
            self._flights.pop(key, None)


class _Shared:
    """A ``Querier`` whose calls go through ``Flights``."""

    def __init__(self, flights: Flights, querier: Querier) -> None:
        self._flights = flights
        self._querier = querier

    @property
    def language(self) -> QueryLanguage:
        """The language of the source behind it."""
        return self._querier.language

    async def query(self, promql: str, at: datetime) -> Mapping[str, Any]:
        """The shared answer to ``promql`` at ``at``."""
        return await self._flights.query(self._querier, promql, at)

    async def query_range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> Mapping[str, Any]:
        """A range query, not shared: each key result backfills once."""
        if not isinstance(self._querier, RangeQuerier):
            return {"status": "error", "errorType": "unsupported", "error": "no range queries"}
        return await self._querier.query_range(promql, start, end, step)
